package telemetryapireceiver

import (
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseXRay reads an X-Ray trace header,
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1":
// the trace id is the root's two hex parts joined (the form the
// OpenTelemetry X-Ray propagator uses), the parent is the span id.
// https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
func parseXRay(header string) (traceID pcommon.TraceID, parent pcommon.SpanID, sampled, ok bool) {
	for part := range strings.SplitSeq(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			fields := strings.Split(v, "-")
			if len(fields) != 3 || fields[0] != "1" || len(fields[1]) != 8 || len(fields[2]) != 24 {
				return traceID, parent, false, false
			}
			if _, err := hex.Decode(traceID[:], []byte(fields[1]+fields[2])); err != nil {
				return pcommon.TraceID{}, parent, false, false
			}
			ok = !traceID.IsEmpty()
		case "Parent":
			var p pcommon.SpanID
			if len(v) == 16 {
				if _, err := hex.Decode(p[:], []byte(v)); err == nil {
					parent = p
				}
			}
		case "Sampled":
			sampled = v == "1"
		}
	}
	if !ok {
		return pcommon.TraceID{}, pcommon.SpanID{}, false, false
	}
	return traceID, parent, sampled, true
}

// lambdaARN splits a Lambda function ARN,
// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
func lambdaARN(arn string) []string {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" || parts[6] == "" {
		return nil
	}
	return parts
}

// accountFromARN is the ARN's account id, "the fifth item when splitting on
// ':'" (https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/).
func accountFromARN(arn string) string {
	if p := lambdaARN(arn); p != nil {
		return p[4]
	}
	return ""
}

// unqualifiedARN is the ARN without its alias or version.
func unqualifiedARN(arn string) string {
	if p := lambdaARN(arn); p != nil {
		return strings.Join(p[:7], ":")
	}
	return ""
}

// partition is the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// resourceID is cloud.resource_id: "the function ARN. Take care not to use
// the invoked ARN directly but replace any alias suffix with the resolved
// function version" (https://opentelemetry.io/docs/specs/semconv/registry/attributes/cloud/).
// The unqualified ARN names $LATEST; a published version is appended.
func (r *Receiver) resourceID(inv *invocation) string {
	base := unqualifiedARN(inv.arn)
	if base == "" {
		base = unqualifiedARN(inv.invoked)
	}
	ri := &r.cfg.Resource
	if base == "" {
		name, acct := ri.functionName(&r.learned), ri.accountID(&r.learned)
		if name == "" || acct == "" || ri.Region == "" {
			return ""
		}
		base = "arn:" + partition(ri.Region) + ":lambda:" + ri.Region + ":" + acct + ":function:" + name
	}
	version := inv.version
	if version == "" {
		version = ri.version(&r.learned)
	}
	if version != "" && version != "$LATEST" {
		return base + ":" + version
	}
	return base
}
