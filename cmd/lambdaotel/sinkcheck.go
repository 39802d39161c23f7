package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const sinkCheckUsage = `usage: lambdaotel sink check [--trees FUNCTION=N ...] [--metrics N] [--logs N] FILE

Checks what a sink wrote to FILE (with --out): for each --trees, at least N
invocation trees of the function (a span named after the function, with
its faas.invocation_id and at least one child span); at least --metrics
metric data points, among them faas.invocations; at least --logs log
records. It prints one line per check and exits 1 naming what is missing.

flags:
`

// treesFlag collects FUNCTION=N pairs.
type treesFlag map[string]int

func (t treesFlag) String() string { return fmt.Sprint(map[string]int(t)) }
func (t treesFlag) Set(v string) error {
	name, n, ok := strings.Cut(v, "=")
	count, err := strconv.Atoi(n)
	if !ok || name == "" || err != nil || count < 1 {
		return fmt.Errorf("want FUNCTION=N with N > 0, got %q", v)
	}
	t[name] = count
	return nil
}

// sinkCheck runs "lambdaotel sink check".
func sinkCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lambdaotel sink check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sinkCheckUsage)
		fs.PrintDefaults()
	}
	trees := treesFlag{}
	fs.Var(trees, "trees", "want at least N invocation trees of `FUNCTION=N` (repeatable)")
	wantPoints := fs.Int("metrics", 0, "want at least `N` metric data points, faas.invocations among them")
	wantLogs := fs.Int("logs", 0, "want at least `N` log records")
	traces, metrics, logs, code := readSinkFileArg(fs, args, stderr)
	if code >= 0 {
		return code
	}

	// Invocation trees: a function's span with its invocation id, and the
	// spans whose parent it is.
	type root struct {
		function string
		children int
	}
	roots := map[pcommon.SpanID]*root{}
	var parents []pcommon.SpanID
	for _, td := range traces {
		for _, rs := range td.ResourceSpans().All() {
			service, _ := rs.Resource().Attributes().Get("service.name")
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if _, ok := sp.Attributes().Get("faas.invocation_id"); ok && sp.Name() == service.AsString() {
						roots[sp.SpanID()] = &root{function: sp.Name()}
					}
					parents = append(parents, sp.ParentSpanID())
				}
			}
		}
	}
	for _, p := range parents {
		if r := roots[p]; r != nil {
			r.children++
		}
	}
	var missing []string
	names := make([]string, 0, len(trees))
	for name := range trees {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		got, bare := 0, 0
		for _, r := range roots {
			if r.function == name {
				if r.children > 0 {
					got++
				} else {
					bare++
				}
			}
		}
		fmt.Fprintf(stdout, "%s: %s at the backend, want %d", name, count(got, "invocation tree"), trees[name])
		if bare > 0 {
			fmt.Fprintf(stdout, " (and %s without children: the function's own spans did not reach the backend)", count(bare, "invocation span"))
		}
		fmt.Fprintln(stdout)
		if got < trees[name] {
			missing = append(missing, fmt.Sprintf("%s of %s", count(trees[name]-got, "invocation tree"), name))
		}
	}

	points, invocations := 0, 0
	for _, md := range metrics {
		points += md.DataPointCount()
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() == "faas.invocations" {
						invocations++
					}
				}
			}
		}
	}
	if *wantPoints > 0 {
		fmt.Fprintf(stdout, "metrics: %s at the backend, want %d, faas.invocations among them\n", count(points, "data point"), *wantPoints)
		if points < *wantPoints {
			missing = append(missing, fmt.Sprintf("%s", count(*wantPoints-points, "metric data point")))
		}
		if invocations == 0 {
			missing = append(missing, "the faas.invocations metric")
		}
	}
	records := 0
	for _, l := range logs {
		records += l.LogRecordCount()
	}
	if *wantLogs > 0 {
		fmt.Fprintf(stdout, "logs: %s at the backend, want %d\n", count(records, "log record"), *wantLogs)
		if records < *wantLogs {
			missing = append(missing, count(*wantLogs-records, "log record"))
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "lambdaotel sink check: FAIL: missing at the backend (%s): %s\n", fs.Arg(0), strings.Join(missing, ", "))
		return 1
	}
	return 0
}
