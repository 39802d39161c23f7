package telemetryapireceiver

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/telemetryapi"
)

func TestResourceFromEnv(t *testing.T) {
	lambda := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "orders",
		"AWS_LAMBDA_FUNCTION_VERSION":     "7",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_REGION":                      "eu-west-1",
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		service string
		attrs   map[string]string
		err     string
	}{
		{name: "function name", service: "orders"},
		{name: "OTEL_SERVICE_NAME", env: map[string]string{"OTEL_SERVICE_NAME": "shop", "OTEL_RESOURCE_ATTRIBUTES": "service.name=other"},
			service: "shop", attrs: map[string]string{"service.name": "other"}},
		{name: "service.name in OTEL_RESOURCE_ATTRIBUTES", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=other"},
			service: "other", attrs: map[string]string{"service.name": "other"}},
		{name: "percent-decoded", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": " deployment.environment.name = prod , team=a%2Cb%3Dc ,,owner=J%C3%BCrgen%20K"},
			service: "orders", attrs: map[string]string{"deployment.environment.name": "prod", "team": "a,b=c", "owner": "Jürgen K"}},
		{name: "not key=value", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=a,oops"},
			service: "orders", err: `"oops" is not key=value`},
		{name: "bad escape", env: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team=a%zz"},
			service: "orders", err: "value of team is badly percent-encoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tc.env[k]; ok {
					return v
				}
				return lambda[k]
			}
			ri, err := ResourceFromEnv(getenv, "123456789012")
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			want := ResourceInfo{ServiceName: tc.service, FunctionName: "orders", FunctionVersion: "7", Region: "eu-west-1",
				AccountID: "123456789012", MemoryMB: 512, Attributes: tc.attrs}
			if fmt.Sprint(ri) != fmt.Sprint(want) {
				t.Errorf("got  %+v\nwant %+v", ri, want)
			}
		})
	}
}

// TestResource: the resource of everything the receiver makes.
func TestResource(t *testing.T) {
	r, clock := newTestReceiver(func(c *Config) {
		c.Resource.ServiceName = ""
		c.Resource.Attributes = map[string]string{"deployment.environment.name": "prod", "cloud.region": "user-region"}
	})
	r.Consume([]telemetryapi.Event{
		ev(t, 0, evInitStart, initStartRec("on-demand", "init")),
		ev(t, 100, evInitRuntimeDone, initDoneRec("init", "success", "")),
		ev(t, 200, evStart, startRec(req1, "")),
		line(t, 210, evFunction, "hello"),
		ev(t, 300, evRuntimeDone, runtimeDoneRec(req1, "success", "", 100, 0)),
	})
	*clock = at(301)
	td, md, ld := r.Collect(ptrace.NewTraces())
	want := map[string]any{
		"service.name":     "orders",
		"cloud.provider":   "aws",
		"cloud.platform":   "aws_lambda",
		"cloud.region":     "user-region", // OTEL_RESOURCE_ATTRIBUTES override detected attributes, as in the SDKs
		"cloud.account.id": "123456789012",
		"faas.name":        "orders",
		"faas.version":     "$LATEST",
		"faas.instance":    "2024/05/01/orders[$LATEST]8f7e6d5c4b3a29180716253443526170",
		"faas.max_memory":  int64(128 << 20),

		"deployment.environment.name": "prod",
	}
	for signal, res := range map[string]map[string]any{
		"traces":  td.ResourceSpans().At(0).Resource().Attributes().AsRaw(),
		"metrics": md.ResourceMetrics().At(0).Resource().Attributes().AsRaw(),
		"logs":    ld.ResourceLogs().At(0).Resource().Attributes().AsRaw(),
	} {
		if fmt.Sprint(res) != fmt.Sprint(want) {
			t.Errorf("%s resource\n got %v\nwant %v", signal, res, want)
		}
	}
	if sc := td.ResourceSpans().At(0).ScopeSpans().At(0).Scope(); sc.Name() != "lambdaotel/telemetryapi" || sc.Version() != "1.2.3" {
		t.Errorf("scope %q %q", sc.Name(), sc.Version())
	}
}

func TestXRayHeader(t *testing.T) {
	for _, tc := range []struct {
		header, trace, parent string
		sampled, ok           bool
	}{
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true, true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1|68fd508a:5", "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", false, true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793", "", false, true},
		{"Parent=53995c3f42cd8ad8;Sampled=1", "", "", false, false},
		{"Root=2-5759e988-bd862e3fe1be46a994272793", "", "", false, false},
		{"Root=1-5759e988-bd862e3fe1be46a99427279z", "", "", false, false},
		{"", "", "", false, false},
	} {
		trace, parent, sampled, ok := parseXRay(tc.header)
		if ok != tc.ok || sampled != tc.sampled || ok && (trace.String() != tc.trace || parent.String() != tc.parent) {
			t.Errorf("parseXRay(%q) = %s %s %v %v", tc.header, trace, parent, sampled, ok)
		}
	}
}

func TestResourceID(t *testing.T) {
	r, _ := newTestReceiver(nil)
	for _, tc := range []struct {
		inv  invocation
		want string
	}{
		{invocation{invoked: invokedARN, version: "$LATEST"}, "arn:aws:lambda:eu-west-1:123456789012:function:orders"},
		{invocation{invoked: invokedARN, version: "7"}, "arn:aws:lambda:eu-west-1:123456789012:function:orders:7"},
		{invocation{arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders", invoked: "arn:aws:lambda:eu-west-1:123456789012:function:orders:3", version: "3"},
			"arn:aws:lambda:eu-west-1:123456789012:function:orders:3"},
		{invocation{version: "$LATEST"}, "arn:aws:lambda:eu-west-1:123456789012:function:orders"}, // from the resource
	} {
		if got := r.resourceID(&tc.inv); got != tc.want {
			t.Errorf("resourceID(%+v) = %q, want %q", tc.inv, got, tc.want)
		}
	}
}
