package lambdaotel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// logExporter keeps the exported log records in memory.
type logExporter struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (e *logExporter) Export(_ context.Context, rs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rs {
		e.records = append(e.records, r.Clone())
	}
	return nil
}
func (e *logExporter) Shutdown(context.Context) error   { return nil }
func (e *logExporter) ForceFlush(context.Context) error { return nil }

func (e *logExporter) all() []sdklog.Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sdklog.Record(nil), e.records...)
}

func recordAttrs(r sdklog.Record) map[string]any {
	var kvs []attribute.KeyValue
	r.WalkAttributes(func(kv attribute.KeyValue) bool { kvs = append(kvs, kv); return true })
	return attrs(kvs)
}

// TestLogHandler logs from inside an invocation: the records reach the
// logger provider with the invocation's trace and span ids and request
// id, and the next handler gets them too.
func TestLogHandler(t *testing.T) {
	t.Parallel()
	exp := &logExporter{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	var out bytes.Buffer
	logger := slog.New(NewLogHandler(&LogOptions{
		LoggerProvider: lp,
		Next:           slog.NewJSONHandler(&out, nil),
	})).With("service", "orders")

	r := newRecorder(t)
	var spanCtx [2]string
	h := Wrap(func(ctx context.Context, e map[string]int) (any, error) {
		sc := spanContextOf(ctx)
		spanCtx = [2]string{sc.TraceID().String(), sc.SpanID().String()}
		logger.InfoContext(ctx, "order placed", "id", e["id"], slog.Group("req", "ms", 1.5, "ok", true),
			"took", time.Second, "err", errors.New("boom"))
		logger.DebugContext(ctx, "not at info")
		logger.WarnContext(ctx, "slow")
		return nil, nil
	}, r.opts()...)
	if _, err := invoke(t, h, "req-1", []byte(`{"id":7}`)); err != nil {
		t.Fatal(err)
	}
	logger.Error("outside")

	recs := exp.all()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3 (debug is below the level)", len(recs))
	}
	rec := recs[0]
	if rec.Body().AsString() != "order placed" || rec.Severity() != log.SeverityInfo || rec.SeverityText() != "INFO" {
		t.Errorf("record %q %v %q", rec.Body().AsString(), rec.Severity(), rec.SeverityText())
	}
	if rec.TraceID().String() != spanCtx[0] || rec.SpanID().String() != spanCtx[1] {
		t.Errorf("record in %v/%v, want the invocation's span %v", rec.TraceID(), rec.SpanID(), spanCtx)
	}
	a := recordAttrs(rec)
	if a["faas.invocation_id"] != "req-1" || a["service"] != "orders" || a["id"] != int64(7) ||
		a["took"] != int64(time.Second) || a["err"] != "boom" {
		t.Errorf("attributes %v", a)
	}
	if g, ok := a["req"].(map[string]any); !ok || g["ms"] != 1.5 || g["ok"] != true {
		t.Errorf("group attribute %#v", a["req"])
	}
	if recs[1].Severity() != log.SeverityWarn || recs[2].Severity() != log.SeverityError {
		t.Errorf("severities %v %v", recs[1].Severity(), recs[2].Severity())
	}
	if _, ok := recordAttrs(recs[2])["faas.invocation_id"]; ok || recs[2].TraceID().IsValid() {
		t.Errorf("a record outside an invocation has invocation data")
	}

	// The next handler's lines carry the ids.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line["trace_id"] != spanCtx[0] || line["span_id"] != spanCtx[1] || line["faas.invocation_id"] != "req-1" || line["msg"] != "order placed" {
		t.Errorf("line %s", lines[0])
	}
}

func TestLogGroups(t *testing.T) {
	t.Parallel()
	exp := &logExporter{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := slog.New(NewLogHandler(&LogOptions{LoggerProvider: lp, Level: slog.LevelDebug}))
	logger.WithGroup("a").With("x", 1).WithGroup("b").Debug("m", "y", 2)
	logger.WithGroup("empty").Info("no attrs")
	recs := exp.all()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	a := recordAttrs(recs[0])
	g, _ := a["a"].(map[string]any)
	b, _ := g["b"].(map[string]any)
	if g["x"] != int64(1) || b["y"] != int64(2) {
		t.Errorf("nested groups %#v", a)
	}
	if len(recordAttrs(recs[1])) != 0 {
		t.Errorf("an empty group left %v", recordAttrs(recs[1]))
	}
	if recs[0].Severity() != log.SeverityDebug {
		t.Errorf("debug severity %v", recs[0].Severity())
	}
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	for l, want := range map[slog.Level]log.Severity{
		slog.LevelDebug: log.SeverityDebug, slog.LevelInfo: log.SeverityInfo, slog.LevelWarn: log.SeverityWarn,
		slog.LevelError: log.SeverityError, slog.LevelInfo + 1: log.SeverityInfo2, -100: log.SeverityTrace1, 100: log.SeverityFatal4,
	} {
		if got := severity(l); got != want {
			t.Errorf("severity(%v) = %v, want %v", l, got, want)
		}
	}
}
