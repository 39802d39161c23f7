package sink

import (
	"bytes"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestPrintMetricsAndLogs(t *testing.T) {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sum := sm.Metrics().AppendEmpty()
	sum.SetName("faas.invocations")
	sum.SetUnit("{invocation}")
	for _, v := range []int64{2, 3} {
		sum.SetEmptySum().DataPoints()
		sum.Sum().DataPoints().AppendEmpty().SetIntValue(v)
	}
	h := sm.Metrics().AppendEmpty()
	h.SetName("faas.invoke_duration")
	h.SetUnit("s")
	dp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.SetCount(4)
	dp.SetSum(0.5)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "pets")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetSeverityText("WARN")
	lr.Body().SetStr("pet not found\nid 42")
	lr.Attributes().PutStr("faas.invocation_id", "0123456789abcdef")
	lr.SetTraceID([16]byte{0xab, 0xcd, 0xef, 1})

	var b bytes.Buffer
	if err := PrintMetrics(&b, []pmetric.Metrics{md}); err != nil {
		t.Fatal(err)
	}
	if err := PrintLogs(&b, []plog.Logs{ld}); err != nil {
		t.Fatal(err)
	}
	want := "  faas.invocations [sum {invocation}] 1 points, total 3\n" +
		"  faas.invoke_duration [histogram s] 1 points, 4 values summing to 0.5\n" +
		"  WARN  pets invocation=01234567 trace=abcdef01 pet not found id 42\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
