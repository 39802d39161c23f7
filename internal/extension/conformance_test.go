package extension_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// apiGatewayFunc is the API Gateway example: a function with the
// lambdaotel Go library.
const apiGatewayFunc = "github.com/lambdaotel/lambdaotel/examples/apigateway"

// platformScope is the instrumentation scope of the telemetryapi
// receiver's data.
const platformScope = "lambdaotel/telemetryapi"

// tableRow is one row of the README's table of what the telemetryapi
// receiver emits.
type tableRow struct {
	signal, name, kind, unit, when string
	required, optional             []string
}

func (r tableRow) String() string { return r.signal + " " + r.name }

// attrs lists the row's attributes, required then optional.
func (r tableRow) attrs() []string { return append(slices.Clone(r.required), r.optional...) }

var attrRE = regexp.MustCompile("`([^`]+)`(\\?)?")

// readTable reads the table between the platform-telemetry markers of
// the README.
func readTable(t *testing.T) []tableRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	begin, end := strings.Index(text, "<!-- platform-telemetry:begin -->"), strings.Index(text, "<!-- platform-telemetry:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md: no platform-telemetry table (<!-- platform-telemetry:begin --> … end)")
	}
	heading := text[strings.LastIndex(text[:begin], "\n####"):begin]
	if !strings.Contains(heading, "semantic conventions v1.44") {
		t.Errorf("README.md: the table's heading does not name the conventions' version v1.44: %q", strings.SplitN(heading, "\n", 3)[1])
	}
	var rows []tableRow
	for _, line := range strings.Split(text[begin:end], "\n")[1:] {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| signal") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 6 {
			t.Fatalf("README.md: table row with %d cells, want 6: %s", len(cells), line)
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		r := tableRow{signal: cells[0], name: strings.Trim(cells[1], "`"), kind: cells[2], unit: strings.Trim(cells[3], "`"), when: cells[5]}
		for _, m := range attrRE.FindAllStringSubmatch(cells[4], -1) {
			if m[2] == "?" {
				r.optional = append(r.optional, m[1])
			} else {
				r.required = append(r.required, m[1])
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("README.md: the platform-telemetry table is empty")
	}
	return rows
}

// emitted is one item the receiver made, as it arrived at the sink.
type emitted struct {
	signal, name, kind, unit string
	attrs                    map[string]any
	resource                 map[string]any
}

// platformData collects what arrived at the sink from the receiver's
// scope; functionInstances collects faas.instance of the other resources
// (the function's SDK).
func platformData(e *env, functionNames []string) (items []emitted, functionInstances map[string]bool) {
	functionInstances = map[string]bool{}
	for _, sp := range e.sink.Spans() {
		if sp.Scope != platformScope {
			if v, ok := sp.Resource["faas.instance"].(string); ok {
				functionInstances[v] = true
			}
			continue
		}
		name := sp.Name
		if slices.Contains(functionNames, name) {
			name = "*function name*"
		}
		items = append(items, emitted{signal: "span", name: name, kind: strings.ToUpper(sp.Kind.String()), attrs: sp.Attributes, resource: sp.Resource})
	}
	for _, md := range e.sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				if sm.Scope().Name() != platformScope {
					continue
				}
				for _, m := range sm.Metrics().All() {
					var kind string
					var points []pcommon.Map
					switch m.Type() {
					case pmetric.MetricTypeSum:
						kind = "Sum"
						if m.Sum().IsMonotonic() {
							kind = "Counter"
						}
						for _, dp := range m.Sum().DataPoints().All() {
							points = append(points, dp.Attributes())
						}
					case pmetric.MetricTypeHistogram:
						kind = "Histogram"
						for _, dp := range m.Histogram().DataPoints().All() {
							points = append(points, dp.Attributes())
						}
					default:
						kind = m.Type().String()
					}
					for _, p := range points {
						items = append(items, emitted{signal: "metric", name: m.Name(), kind: kind, unit: m.Unit(),
							attrs: p.AsRaw(), resource: rm.Resource().Attributes().AsRaw()})
					}
				}
			}
		}
	}
	for _, ld := range e.sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				if sl.Scope().Name() != platformScope {
					continue
				}
				for _, lr := range sl.LogRecords().All() {
					name := lr.EventName()
					if name == "" {
						name = "*a function or extension line*"
					}
					items = append(items, emitted{signal: "log", name: name, kind: strings.ToUpper(lr.SeverityNumber().String()),
						attrs: lr.Attributes().AsRaw(), resource: rl.Resource().Attributes().AsRaw()})
				}
			}
		}
	}
	return items, functionInstances
}

// TestConformanceTable runs the API Gateway example (the lambdaotel Go
// library: faas.trigger and faas.instance from the function, and
// aws-lambda-go, which logs an invocation's error) with the extension in
// the sandbox, through a cold start, a success, a 404, an error, a
// timeout and the cold start after it, and a function without
// OpenTelemetry that prints lines; and checks
// what arrives at the sink from the telemetryapi receiver against the
// README's table, both ways: every item emitted is in the table with
// its kind, instrument, unit and exactly the table's attributes (those not
// marked ? always there), and every row and optional attribute was seen
// (but for the rows this run cannot produce, which the receiver's own
// tests cover).
func TestConformanceTable(t *testing.T) {
	t.Parallel()
	rows := readTable(t)
	// Rows and attributes this run cannot produce: a SnapStart restore,
	// Lambda dropping log records, a failed init.
	notExercised := map[string]bool{"span restore": true, "log platform.logsDropped": true}
	// aws-lambda-go logs a stack trace only for a panic.
	rareAttrs := map[string]bool{"span init error.type": true, "log faas.invocation.exception exception.stacktrace": true}

	// No processors: the resource is the receiver's own.
	base := lambdatest.WithTelemetryAPI(lambdatest.OTLPConfig)
	config := strings.Replace(base, "  telemetryapi:\n", "  telemetryapi:\n    log_report_lines: true\n", 1)
	if config == base {
		t.Fatal("cannot turn log_report_lines on in the test's configuration")
	}

	e := startEnv(t, envOptions{function: apiGatewayFunc, config: config,
		sandbox: sandbox.Config{FunctionName: "pets", Timeout: 2 * time.Second}})
	for _, name := range []string{"pet7", "pet42", "broken", "slow", "pet7"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "apigateway", "events", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		e.invoke(t, string(b))
	}
	e.sb.Shutdown()
	pets, instances := platformData(e, []string{"pets"})
	// A function without OpenTelemetry that prints to stdout.
	plain := startEnv(t, envOptions{function: plainFunc, config: config, sandbox: sandbox.Config{FunctionName: "orders"}})
	if res := plain.invoke(t, `{"action":"print","lines":2}`); res.Error != nil {
		t.Fatal(res.Error)
	}
	plain.sb.Shutdown()
	orders, _ := platformData(plain, []string{"orders"})
	items := append(slices.Clone(pets), orders...)

	byRow := map[string][]emitted{}
	for _, it := range items {
		var row *tableRow
		for i := range rows {
			if rows[i].signal == it.signal && rows[i].name == it.name {
				row = &rows[i]
			}
		}
		if row == nil {
			t.Errorf("%s %q (%s) arrived at the backend but is not in the README's table", it.signal, it.name, it.kind)
			continue
		}
		byRow[row.String()] = append(byRow[row.String()], it)
		switch {
		case it.signal == "metric" && (it.kind != row.kind || it.unit != row.unit):
			t.Errorf("%s: %s in %q, the table says %s in %q", row, it.kind, it.unit, row.kind, row.unit)
		case it.signal != "metric" && row.kind != "its level" && it.kind != strings.ToUpper(row.kind):
			t.Errorf("%s: %s, the table says %s", row, it.kind, row.kind)
		}
		for k := range it.attrs {
			if !slices.Contains(row.attrs(), k) {
				t.Errorf("%s: attribute %s (= %v) is not in the table", row, k, it.attrs[k])
			}
		}
		for _, k := range row.required {
			if _, ok := it.attrs[k]; !ok {
				t.Errorf("%s: no %s, which the table says is always there (attributes %v)", row, k, it.attrs)
			}
		}
	}
	var resource tableRow
	for _, r := range rows {
		if r.signal == "resource" {
			resource = r
		}
	}
	seenResource := map[string]bool{}
	for _, it := range items {
		for k, v := range it.resource {
			seenResource[k] = true
			if !slices.Contains(resource.attrs(), k) {
				t.Errorf("resource attribute %s (= %v) of a %s is not in the table", k, v, it.signal)
			}
		}
		for _, k := range resource.required {
			if _, ok := it.resource[k]; !ok {
				t.Errorf("%s %s: no resource attribute %s", it.signal, it.name, k)
			}
		}
	}
	for _, r := range rows {
		if r.signal == "resource" {
			for _, k := range r.optional {
				if !seenResource[k] {
					t.Errorf("resource attribute %s never arrived", k)
				}
			}
			continue
		}
		got := byRow[r.String()]
		t.Logf("%s: %d arrived", r, len(got))
		if notExercised[r.String()] {
			if len(got) > 0 {
				t.Errorf("%s arrived: take it off the test's list of rows not exercised", r)
			}
			continue
		}
		if len(got) == 0 {
			t.Errorf("%s (%s) is in the table but never arrived", r, r.when)
			continue
		}
		for _, k := range r.optional {
			seen := false
			for _, it := range got {
				if _, ok := it.attrs[k]; ok {
					seen = true
				}
			}
			if !seen && !rareAttrs[r.String()+" "+k] {
				t.Errorf("%s: optional attribute %s never arrived", r, k)
			}
		}
	}

	// faas.instance: the platform's resource and the function SDK's agree.
	if len(instances) != 1 {
		t.Fatalf("the function's resources carry faas.instance %v, want one log stream name", instances)
	}
	for _, it := range pets {
		if v, _ := it.resource["faas.instance"].(string); !instances[v] {
			t.Errorf("%s %s: resource faas.instance %q, the function's is %v", it.signal, it.name, v, instances)
		}
	}
}
