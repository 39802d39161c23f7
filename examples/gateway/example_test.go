package gateway_test

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
)

// TestExampleConfig runs the example gateway configuration (collector.yaml,
// as a user deploys it, settings from the environment) with the sink as the
// backend, behind two environments of one function that calls another: an
// invocation that fails in the called function arrives whole (both
// functions' spans and both invocation spans), the traces without error
// are sampled out (sampling percentage 0 here), and every metric point and
// log record arrives.
func TestExampleConfig(t *testing.T) {
	config, err := os.ReadFile("collector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	backend := lambdatest.StartSink(t, nil)
	gw := startGatewayEnv(t, string(config), nil, []string{
		"BACKEND_ENDPOINT=http://" + backend.HTTPAddr(),
		"GATEWAY_DECISION_WAIT=1s",
		"GATEWAY_SAMPLE_PERCENT=0",
		"GATEWAY_GRPC_ENDPOINT=127.0.0.1:%GRPC_PORT%",
		"GATEWAY_HTTP_ENDPOINT=127.0.0.1:%HTTP_PORT%",
		"GATEWAY_HEALTH_ENDPOINT=127.0.0.1:%HEALTH_PORT%",
		"GATEWAY_TELEMETRY_LEVEL=none",
	})
	caller := startFunction(t, functionOptions{name: "orders", gatewayGRPC: gw.grpcAddr, gatewayHTTP: gw.httpAddr})
	callee := startFunction(t, functionOptions{name: "payments", grpc: true, gatewayGRPC: gw.grpcAddr, gatewayHTTP: gw.httpAddr})
	var invs []*invocation
	for j := range 6 {
		ev := event{Spans: 2, Logs: 1}
		if j%2 == 0 {
			ev.Call, ev.CallEvent = callee.invokeURL, &event{Spans: 1, Logs: 1, Fail: j == 4}
		}
		if inv := invoke(t, caller, ev); inv != nil {
			invs = append(invs, inv)
		}
	}
	shutDown([]*function{caller, callee})
	// Decisions 1 s after a trace's first span, on a 1 s tick; batches of 1 s.
	time.Sleep(3500 * time.Millisecond)
	gw.stop()

	in := newInventory()
	in.addTraces(backend.Traces())
	in.addMetrics(backend.Metrics())
	in.addLogs(backend.Logs())
	d := checkDelivery(in, invs)
	var failed *invocation
	for _, inv := range invs {
		if inv.callee != nil && inv.callee.failed {
			failed = inv
		}
	}
	if failed == nil {
		t.Fatal("no invocation's call failed")
	}
	// Metric points and log records all arrive; spans only of the trace
	// with the error.
	want := map[string]bool{}
	for _, inv := range []*invocation{failed, failed.callee} {
		s, _, _ := inv.expected()
		for _, item := range s {
			want[item] = true
		}
		if in.platform[inv.requestID] != 1 {
			t.Errorf("the invocation span of %s (%s) arrived %d times, want once", inv.function, inv.requestID, in.platform[inv.requestID])
		}
	}
	for item, n := range in.spanItems {
		if !want[item] {
			t.Errorf("span %s of a trace without error was kept", item)
		} else if n != 1 {
			t.Errorf("span %s arrived %d times", item, n)
		}
	}
	for item := range want {
		if in.spanItems[item] == 0 {
			t.Errorf("span %s of the failed trace is missing", item)
		}
	}
	for _, kind := range []string{"metric point", "log record"} {
		for _, ex := range d.examples {
			if strings.HasPrefix(ex, kind) {
				t.Errorf("%s", ex)
			}
		}
	}
	checkTraces(t, in, []*invocation{failed})
}

// TestKubernetesManifest keeps the Kubernetes example in step with the
// configuration it mounts: every variable the Deployment sets is one that
// collector.yaml reads, and every variable collector.yaml needs without a
// default is set.
func TestKubernetesManifest(t *testing.T) {
	config, err := os.ReadFile("collector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile("kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reads := map[string]bool{} // variable → has a default
	for _, m := range regexp.MustCompile(`\$\{env:(\w+)(:-)?`).FindAllStringSubmatch(string(config), -1) {
		reads[m[1]] = reads[m[1]] || m[2] != ""
	}
	set := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(manifest))
	for {
		var doc struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args []string
							Env  []struct{ Name string }
						}
					}
				}
			}
		}
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("kubernetes.yaml: %v", err)
		}
		if doc.Kind != "Deployment" {
			continue
		}
		for _, c := range doc.Spec.Template.Spec.Containers {
			if !strings.HasSuffix(strings.Join(c.Args, " "), "/collector.yaml") {
				t.Errorf("the container's args %q do not run collector.yaml", c.Args)
			}
			for _, e := range c.Env {
				set[e.Name] = true
				if _, ok := reads[e.Name]; !ok && !strings.HasPrefix(e.Name, "GO") {
					t.Errorf("kubernetes.yaml sets %s, which collector.yaml does not read", e.Name)
				}
			}
		}
	}
	if len(set) == 0 {
		t.Fatal("kubernetes.yaml has no Deployment with environment variables")
	}
	for name, hasDefault := range reads {
		if !hasDefault && !set[name] {
			t.Errorf("collector.yaml needs %s, which kubernetes.yaml does not set", name)
		}
	}
}
