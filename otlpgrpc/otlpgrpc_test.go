package otlpgrpc

import (
	"context"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/grpcexport"
)

// TestRegistered checks that importing the package registers an OTLP/gRPC
// exporter for each signal, which builds without a connection (the
// exporters connect when they first send).
func TestRegistered(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
	r := grpcexport.Registered
	if r == nil || r.Traces == nil || r.Metrics == nil || r.Logs == nil {
		t.Fatalf("registered exporters: %+v", r)
	}
	ctx := context.Background()
	for _, insecure := range []bool{true, false} {
		te, err := r.Traces(ctx, insecure)
		if err != nil {
			t.Fatalf("traces, insecure %v: %v", insecure, err)
		}
		me, err := r.Metrics(ctx, insecure)
		if err != nil {
			t.Fatalf("metrics, insecure %v: %v", insecure, err)
		}
		le, err := r.Logs(ctx, insecure)
		if err != nil {
			t.Fatalf("logs, insecure %v: %v", insecure, err)
		}
		for _, shutdown := range []func(context.Context) error{te.Shutdown, me.Shutdown, le.Shutdown} {
			if err := shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
}
