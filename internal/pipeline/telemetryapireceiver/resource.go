package telemetryapireceiver

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ResourceInfo describes the function: what every span, metric and log
// record of the receiver carries as its resource.
type ResourceInfo struct {
	// ServiceName is service.name. Empty means the function name.
	ServiceName string
	// FunctionName, FunctionVersion, Region and MemoryMB come from the
	// AWS_LAMBDA_* variables; AccountID from the Extensions API
	// (Lambda-Extension-Accept-Feature: accountId) or the invoked ARN.
	FunctionName    string
	FunctionVersion string
	Region          string
	AccountID       string
	MemoryMB        int
	// Instance is faas.instance: the log stream name
	// (AWS_LAMBDA_LOG_STREAM_NAME). Lambda gives that variable to the
	// runtime, not to extensions; without it the receiver learns the name
	// from the function's own telemetry (its resource's faas.instance) or
	// from platform.initStart's instanceId (Lambda Managed Instances).
	Instance string
	// Attributes are the user's OTEL_RESOURCE_ATTRIBUTES, decoded. They
	// override the detected Lambda attributes (but not service.name, see
	// ResourceFromEnv).
	Attributes map[string]string
}

// ResourceFromEnv reads the function's resource from the environment, as
// the OpenTelemetry SDK in the function does, so that the platform
// telemetry and the function's own share one resource:
//
//   - service.name: OTEL_SERVICE_NAME, else service.name from
//     OTEL_RESOURCE_ATTRIBUTES, else the function name (the SDK
//     environment variable rule: OTEL_SERVICE_NAME wins);
//   - AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION,
//     AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_REGION (else AWS_DEFAULT_REGION),
//     AWS_LAMBDA_LOG_STREAM_NAME (faas.instance, when set);
//   - OTEL_RESOURCE_ATTRIBUTES: "k=v,k2=v2", keys and values
//     percent-decoded.
//
// accountID is the account id the Extensions API gave at registration, or
// empty. When OTEL_RESOURCE_ATTRIBUTES cannot be decoded, all of it is
// ignored, as the SDK specification asks, and the error says why; the
// returned ResourceInfo is usable either way.
func ResourceFromEnv(getenv func(string) string, accountID string) (ResourceInfo, error) {
	ri := ResourceInfo{
		FunctionName:    strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_NAME")),
		FunctionVersion: strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_VERSION")),
		Region:          strings.TrimSpace(getenv("AWS_REGION")),
		AccountID:       accountID,
		Instance:        strings.TrimSpace(getenv("AWS_LAMBDA_LOG_STREAM_NAME")),
	}
	if ri.Region == "" {
		ri.Region = strings.TrimSpace(getenv("AWS_DEFAULT_REGION"))
	}
	ri.MemoryMB, _ = strconv.Atoi(strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")))
	attrs, err := parseResourceAttributes(getenv("OTEL_RESOURCE_ATTRIBUTES"))
	ri.Attributes = attrs
	ri.ServiceName = strings.TrimSpace(getenv("OTEL_SERVICE_NAME"))
	if ri.ServiceName == "" {
		ri.ServiceName = attrs[attrServiceName]
	}
	if ri.ServiceName == "" {
		ri.ServiceName = ri.FunctionName
	}
	return ri, err
}

// parseResourceAttributes decodes OTEL_RESOURCE_ATTRIBUTES
// (https://opentelemetry.io/docs/specs/otel/resource/sdk/#specifying-resource-information-via-an-environment-variable).
func parseResourceAttributes(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value; all of OTEL_RESOURCE_ATTRIBUTES is ignored", strings.TrimSpace(pair))
		}
		key, err := url.PathUnescape(strings.TrimSpace(k))
		if err != nil || key == "" {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: key %q is empty or badly percent-encoded; all of OTEL_RESOURCE_ATTRIBUTES is ignored", strings.TrimSpace(k))
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: value of %s is badly percent-encoded (%v); all of OTEL_RESOURCE_ATTRIBUTES is ignored", key, err)
		}
		out[key] = val
	}
	return out, nil
}

// learned is what the receiver learns about the environment from events.
type learned struct {
	instanceID   string // the function's resource's faas.instance, else platform.initStart instanceId
	functionName string // platform.initStart functionName
	version      string // platform.initStart functionVersion
	accountID    string // from the invoked ARN
}

func (ri *ResourceInfo) functionName(l *learned) string {
	if ri.FunctionName != "" {
		return ri.FunctionName
	}
	return l.functionName
}

func (ri *ResourceInfo) accountID(l *learned) string {
	if ri.AccountID != "" {
		return ri.AccountID
	}
	return l.accountID
}

func (ri *ResourceInfo) version(l *learned) string {
	if ri.FunctionVersion != "" {
		return ri.FunctionVersion
	}
	return l.version
}

// fill writes the resource attributes into m. Detected attributes come
// first, then the user's OTEL_RESOURCE_ATTRIBUTES override them (the SDKs
// merge the environment resource last), then service.name.
// https://opentelemetry.io/docs/specs/semconv/resource/faas/
// https://opentelemetry.io/docs/specs/semconv/resource/cloud/
func (ri *ResourceInfo) fill(m pcommon.Map, l *learned) {
	m.EnsureCapacity(10 + len(ri.Attributes))
	m.PutStr(attrCloudProvider, "aws")
	m.PutStr(attrCloudPlatform, "aws_lambda")
	if ri.Region != "" {
		m.PutStr(attrCloudRegion, ri.Region)
	}
	if a := ri.accountID(l); a != "" {
		m.PutStr(attrCloudAccountID, a)
	}
	name := ri.functionName(l)
	if name != "" {
		m.PutStr(attrFaaSName, name)
	}
	if v := ri.version(l); v != "" {
		m.PutStr(attrFaaSVersion, v)
	}
	// faas.instance: for AWS Lambda, "the (full) log stream name"
	// (resource/faas.md), as the function's SDK reads it from
	// AWS_LAMBDA_LOG_STREAM_NAME.
	if ri.Instance != "" {
		m.PutStr(attrFaaSInstance, ri.Instance)
	} else if l.instanceID != "" {
		m.PutStr(attrFaaSInstance, l.instanceID)
	}
	if ri.MemoryMB > 0 {
		m.PutInt(attrFaaSMaxMemory, int64(ri.MemoryMB)<<20)
	}
	for k, v := range ri.Attributes {
		m.PutStr(k, v)
	}
	service := ri.ServiceName
	if service == "" {
		service = ri.Attributes[attrServiceName]
	}
	if service == "" {
		service = name
	}
	if service == "" {
		service = "unknown_service"
	}
	m.PutStr(attrServiceName, service)
}
