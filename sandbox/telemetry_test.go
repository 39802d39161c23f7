package sandbox_test

import (
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestBufferingMaxItems checks that deliveries honour the subscription's
// maxItems: with a long timeout, the platform delivers full batches of
// maxItems, and the rest at the end of the invocation.
func TestBufferingMaxItems(t *testing.T) {
	t.Parallel()
	f := start(t, setup{recEnv: map[string]string{"REC_MAX_ITEMS": "1000", "REC_TIMEOUT_MS": "30000", "REC_TYPES": "function"}})
	f.invoke(t, `{"action":"print","lines":2500}`)
	f.env.Shutdown()
	rec := f.recording(t)
	full := 0
	for i, b := range rec.batches {
		if len(b) > 1000 {
			t.Errorf("batch %d has %d events, over maxItems", i, len(b))
		}
		if len(b) == 1000 {
			full++
		}
	}
	if full < 2 {
		t.Errorf("%d full batches of 1000; want at least 2 (sizes %v)", full, batchSizes(rec))
	}
	if n := len(rec.ofType("function")); n != 2500+2 {
		t.Errorf("%d function lines delivered, want %d", n, 2502)
	}
}

// TestLogsDropped checks that a subscriber that falls behind loses log
// lines, counted in platform.logsDropped, while platform events are kept.
func TestLogsDropped(t *testing.T) {
	t.Parallel()
	f := start(t, setup{
		recEnv: map[string]string{"REC_SLOW_MS": "200", "REC_MAX_ITEMS": "1000", "REC_TIMEOUT_MS": "25"},
		cfg:    sandbox.Config{TelemetryQueueBytes: 32 << 10},
	})
	const lines = 3000
	f.invoke(t, `{"action":"print","lines":3000}`)
	f.invoke(t, `{}`)
	f.env.Shutdown()
	rec := f.recording(t)
	dropped := 0
	for _, e := range rec.ofType("platform.logsDropped") {
		var r struct {
			Reason         string `json:"reason"`
			DroppedRecords int    `json:"droppedRecords"`
			DroppedBytes   int    `json:"droppedBytes"`
		}
		e.decode(t, &r)
		if r.DroppedRecords <= 0 || r.DroppedBytes <= 0 || !strings.Contains(r.Reason, "fallen behind") {
			t.Errorf("logsDropped %s", e.Record)
		}
		dropped += r.DroppedRecords
	}
	got := 0
	for _, e := range rec.ofType("function") {
		var s string
		e.decode(t, &s)
		if strings.HasPrefix(s, "line ") {
			got++
		}
	}
	if dropped == 0 || got+dropped < lines {
		t.Errorf("delivered %d and dropped %d of %d lines (and others): every line is either delivered or counted", got, dropped, lines)
	}
	if n := len(rec.ofType("platform.runtimeDone")); n != 2 {
		t.Errorf("%d runtimeDone events delivered, want 2: platform events are never dropped", n)
	}
}

func batchSizes(r *recording) []int {
	var out []int
	for _, b := range r.batches {
		out = append(out, len(b))
	}
	return out
}
