package sink

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// PrintMetrics prints one line per metric name: its type, unit, number of
// data points and, for sums and histograms, the total and count over all
// points, sorted by name.
func PrintMetrics(w io.Writer, metrics []pmetric.Metrics) error {
	type summary struct {
		kind, unit   string
		points       int
		total        float64
		count        uint64
		hasTotal     bool
		hasHistogram bool
	}
	byName := map[string]*summary{}
	for _, md := range metrics {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					s := byName[m.Name()]
					if s == nil {
						s = &summary{kind: m.Type().String(), unit: m.Unit()}
						byName[m.Name()] = s
					}
					switch m.Type() {
					case pmetric.MetricTypeSum:
						s.hasTotal = true
						for _, dp := range m.Sum().DataPoints().All() {
							s.points++
							s.total += dp.DoubleValue() + float64(dp.IntValue())
						}
					case pmetric.MetricTypeGauge:
						s.points += m.Gauge().DataPoints().Len()
					case pmetric.MetricTypeHistogram:
						s.hasHistogram = true
						for _, dp := range m.Histogram().DataPoints().All() {
							s.points++
							s.count += dp.Count()
							s.total += dp.Sum()
						}
					case pmetric.MetricTypeExponentialHistogram:
						s.points += m.ExponentialHistogram().DataPoints().Len()
					case pmetric.MetricTypeSummary:
						s.points += m.Summary().DataPoints().Len()
					}
				}
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriter(w)
	for _, n := range names {
		s := byName[n]
		kind := strings.ToLower(s.kind)
		if s.unit != "" {
			kind += " " + s.unit
		}
		fmt.Fprintf(bw, "  %s [%s] %d points", n, kind, s.points)
		switch {
		case s.hasHistogram:
			fmt.Fprintf(bw, ", %d values summing to %g", s.count, s.total)
		case s.hasTotal:
			fmt.Fprintf(bw, ", total %g", s.total)
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// PrintLogs prints one line per log record, in the order received: its
// severity, service, invocation id and trace id (when present), and body.
func PrintLogs(w io.Writer, logs []plog.Logs) error {
	bw := bufio.NewWriter(w)
	for _, ld := range logs {
		for _, rl := range ld.ResourceLogs().All() {
			service, _ := rl.Resource().Attributes().Get("service.name")
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					sev := lr.SeverityText()
					if sev == "" {
						sev = lr.SeverityNumber().String()
					}
					fmt.Fprintf(bw, "  %-5s %s", sev, service.AsString())
					if id, ok := lr.Attributes().Get("faas.invocation_id"); ok {
						fmt.Fprintf(bw, " invocation=%.8s", id.AsString())
					}
					if !lr.TraceID().IsEmpty() {
						fmt.Fprintf(bw, " trace=%.8s", lr.TraceID().String())
					}
					body := strings.ReplaceAll(lr.Body().AsString(), "\n", " ")
					if len(body) > 120 {
						body = body[:117] + "..."
					}
					fmt.Fprintf(bw, " %s\n", body)
				}
			}
		}
	}
	return bw.Flush()
}
