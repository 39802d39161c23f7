package telemetryapi

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestListenerDeliveries(t *testing.T) {
	got := make(chan []Event, 4)
	l, err := Listen(func(ev []Event) { got <- ev }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	url := strings.Replace(l.URI(), "sandbox.localdomain", "127.0.0.1", 1)
	cases := []struct {
		name, body string
		status     int
		events     int
	}{
		{"platform and function events", `[{"time":"2022-10-12T00:00:15.064Z","type":"platform.runtimeDone","record":{"requestId":"r1","status":"success"}},{"time":"2022-10-12T00:00:15.065Z","type":"function","record":"hello"}]`, 200, 2},
		{"not JSON", `[{"time":`, 400, 0},
		{"not an array", `{"type":"function"}`, 400, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(url, "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.events == 0 {
				return
			}
			select {
			case ev := <-got:
				if len(ev) != c.events || ev[0].RequestID() != "r1" || ev[1].RequestID() != "" ||
					!ev[0].Time.Equal(time.Date(2022, 10, 12, 0, 0, 15, 64e6, time.UTC)) {
					t.Errorf("events %+v", ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no delivery reached the handler")
			}
		})
	}
}
