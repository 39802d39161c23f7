package extension_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

// TestAWSXRayExporter runs a function with an ADOT-style configuration
// whose traces go to the awsxray exporter, pointed at the X-Ray stand-in on
// loopback: the function's spans and the platform's invocation spans
// arrive there decoded from OTLP, in requests whose SigV4 signature the
// stand-in verifies (service xray, the configured region) — made with the
// function's credentials, or with a role's from STS AssumeRole with an
// ExternalId — each resource carries the configured log group, the
// indexed attribute is listed in aws.xray.annotations, and the settings
// without effect are named in one warning in the function's log.
func TestAWSXRayExporter(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, extra string
		key         string // prefix of the key that signs the exports
	}{
		{name: "function credentials", key: fakeKeyID},
		{name: "assumed role", extra: "    role_arn: arn:aws:iam::123456789012:role/otel-export\n    external_id: tenant-42\n", key: "ASIA"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fn := "awsxray-" + strings.ReplaceAll(c.name, " ", "-")
			aws := startAWS(t, fn, func(s *awsstandin.Server) {
				s.ExternalIDs = map[string]string{"arn:aws:iam::123456789012:role/otel-export": "tenant-42"}
			})
			cfg := `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%HTTP_PORT%
  telemetryapi:
exporters:
  awsxray:
    region: ` + awsRegion + `
    endpoint: ${env:XRAY_STANDIN}
    indexed_attributes: [faas.invocation_id]
    max_retries: 2
    aws_log_groups: [/aws/lambda/` + fn + `]
    local_mode: true
` + c.extra + `service:
  pipelines:
    traces:
      receivers: [otlp, telemetryapi]
      exporters: [awsxray]
lambdaotel:
  flush:
    strategy: end
`
			extEnv := awsEnv(aws)
			delete(extEnv, "AWS_ENDPOINT_URL_XRAY") // the endpoint key says where
			extEnv["XRAY_STANDIN"] = aws.URL
			e := startEnv(t, envOptions{config: cfg, extEnv: extEnv, sandbox: sandbox.Config{FunctionName: fn, Region: awsRegion}})
			const invocations, children = 2, 2
			for k := range invocations {
				if res := e.invoke(t, fmt.Sprintf(`{"spans":%d}`, children)); res.Error != nil {
					t.Fatalf("invocation %d: %v", k, res.Error)
				}
			}
			e.sb.Shutdown()
			tds := aws.Traces()
			names := spanNames(tds)
			if names["handler"] != invocations || names["child-0"] != invocations || names["child-1"] != invocations {
				t.Errorf("function spans at X-Ray: %v; want %d handler and child spans", names, invocations)
			}
			platform := 0
			for _, td := range tds {
				rss := td.ResourceSpans()
				for i := range rss.Len() {
					attrs := rss.At(i).Resource().Attributes()
					if v, ok := attrs.Get("aws.log.group.names"); !ok || v.Slice().Len() != 1 || v.Slice().At(0).Str() != "/aws/lambda/"+fn {
						t.Errorf("resource %v: want aws.log.group.names [/aws/lambda/%s]", attrs.AsRaw(), fn)
					}
					sss := rss.At(i).ScopeSpans()
					for j := range sss.Len() {
						for k := range sss.At(j).Spans().Len() {
							attrs := sss.At(j).Spans().At(k).Attributes()
							if _, ok := attrs.Get("faas.invocation_id"); ok {
								platform++
								if v, ok := attrs.Get("aws.xray.annotations"); !ok || v.Slice().Len() != 1 || v.Slice().At(0).Str() != "faas.invocation_id" {
									t.Errorf("invocation span %v: want aws.xray.annotations [faas.invocation_id] (indexed_attributes)", attrs.AsRaw())
								}
							}
						}
					}
				}
			}
			if platform < invocations {
				t.Errorf("%d invocation spans of the platform at X-Ray, want %d", platform, invocations)
			}
			n := checkSigned(t, aws)
			if n["xray"] == 0 {
				t.Errorf("requests per service: %v; want exports to X-Ray", n)
			}
			if c.extra != "" && n["sts"] != 1 {
				t.Errorf("requests per service: %v; want one AssumeRole", n)
			}
			for _, r := range aws.Requests() {
				if r.Service != "xray" {
					continue
				}
				if !strings.HasPrefix(r.AccessKey, c.key) || r.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.Header.Get("Authorization"), "/"+awsRegion+"/xray/aws4_request") {
					t.Errorf("%s: signed by %q (%s), Content-Encoding %q; want %s... for xray in %s", r.Operation, r.AccessKey, r.Header.Get("Authorization"), r.Header.Get("Content-Encoding"), c.key, awsRegion)
				}
			}
			out := e.logs.String()
			if strings.Count(out, "these settings have no effect") != 1 || !strings.Contains(out, "max_retries (failed requests are retried while the flush budget lasts") {
				t.Errorf("want one warning naming max_retries; the environment's output:\n%s", out)
			}
		})
	}
}
