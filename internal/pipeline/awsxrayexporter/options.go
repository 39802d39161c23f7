package awsxrayexporter

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/exporter"
	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/sigv4auth"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory is the awsxray exporter type: traces only. Its Decode returns
// *Options.
var Factory = exporter.Factory{
	Type:    "awsxray",
	Signals: []pipeline.Signal{pipeline.Traces},
	Decode:  decodeOptions,
	New: func(id string, cfg any, s exporter.Settings) (pipeline.Exporter, error) {
		a := cfg.(*Options)
		return exporter.Made(New(id, Config{
			TracesURL: a.TracesURL(s.Getenv), Getenv: s.Getenv, Region: a.Region, RoleARN: a.RoleARN, ExternalID: a.ExternalID, STSRegion: a.STSRegion,
			Timeout: a.Timeout, InsecureSkipVerify: a.InsecureSkipVerify, CAFile: a.CAFile, ProxyAddress: a.ProxyAddress,
			Marks:  Marks{LogGroups: a.LogGroups, Indexed: a.IndexedAttributes, IndexAll: a.IndexAllAttributes},
			Logger: s.Logger.With("exporter", id),
		}))
	},
}

// Options configure the awsxray exporter, as the configuration gives them: ADOT's and the
// collector's X-Ray exporter, mapped onto X-Ray's OTLP endpoint
// (https://xray.REGION.amazonaws.com/v1/traces), each request signed with
// SigV4 (service xray) with the function's credentials, or a role's.
// Upstream converts spans to segment documents for PutTraceSegments; the
// OTLP endpoint takes the spans as they are.
type Options struct {
	// Region is the region of the endpoint and of the signature: region,
	// else AWS_REGION (AWS_DEFAULT_REGION) when the exporter is built.
	Region string
	// Endpoint is the endpoint key as given: the X-Ray API's base URL
	// (/v1/traces is appended when it has no path), or "".
	Endpoint string
	// RoleARN, ExternalID and STSRegion: sign with the credentials of this
	// role, from STS AssumeRole (role_arn, external_id, sts_region).
	RoleARN, ExternalID, STSRegion string
	// Timeout bounds each request (request_timeout_seconds; default 30 s).
	Timeout time.Duration
	// InsecureSkipVerify does not verify the server's certificate
	// (no_verify_ssl); CAFile verifies it with these CAs
	// (certificate_file_path).
	InsecureSkipVerify bool
	CAFile             string
	// ProxyAddress is the proxy requests go through (proxy_address); ""
	// means HTTPS_PROXY, as upstream.
	ProxyAddress string
	// LogGroups are aws_log_groups: put on every resource as
	// aws.log.group.names unless it has that or aws.log.group.arns, as
	// upstream orders them, for X-Ray's trace to logs correlation.
	LogGroups []string
	// IndexedAttributes and IndexAllAttributes (indexed_attributes,
	// index_all_attributes) list span attribute keys in the span's
	// aws.xray.annotations, which X-Ray makes annotations (indexed).
	IndexedAttributes  []string
	IndexAllAttributes bool
	// Unhonoured names the settings given that have no effect, each with
	// why; they are reported in one warning.
	Unhonoured []string
}

// DefaultTimeout is the awsxray exporter's request timeout when
// request_timeout_seconds is not given (upstream's default).
const DefaultTimeout = 30 * time.Second

// TracesURL returns the URL spans are posted to: the endpoint key (with
// /v1/traces appended when it has no path), else AWS_ENDPOINT_URL_XRAY or
// AWS_ENDPOINT_URL, else X-Ray's OTLP endpoint in the region (region, else
// AWS_REGION or AWS_DEFAULT_REGION) — the URL of LAMBDAOTEL_EXPORTER=aws.
// It is "" when there is neither an endpoint nor a region. getenv is
// os.Getenv if nil.
func (a *Options) TracesURL(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if a.Endpoint != "" {
		u := strings.TrimSuffix(a.Endpoint, "/")
		if p, err := url.Parse(u); err == nil && p.Path == "" {
			return u + "/v1/traces"
		}
		return u
	}
	if v := firstNonEmpty(getenv("AWS_ENDPOINT_URL_XRAY"), getenv("AWS_ENDPOINT_URL")); v != "" {
		return xrayTracesURL(getenv, "")
	}
	region := firstNonEmpty(a.Region, firstNonEmpty(getenv(sigv4auth.EnvRegion), getenv(sigv4auth.EnvDefaultRegion)))
	if region == "" {
		return ""
	}
	return xrayTracesURL(getenv, region)
}

// xrayTracesURL is X-Ray's OTLP traces URL in region, moved by
// AWS_ENDPOINT_URL_XRAY (or AWS_ENDPOINT_URL) as in the AWS SDKs.
func xrayTracesURL(getenv func(string) string, region string) string {
	return sigv4auth.Endpoint(getenv, "XRAY", "xray", region) + "/v1/traces"
}

// awsxrayKeys are the upstream exporter's keys (its own and the AWS
// session settings it embeds), and sts_region and transit_spans_in_otlp_format
// that ADOT's and the CloudWatch agent's configurations add.
var awsxrayKeys = []string{
	"region", "endpoint", "role_arn", "external_id", "sts_region", "request_timeout_seconds", "no_verify_ssl",
	"certificate_file_path", "proxy_address", "aws_log_groups", "indexed_attributes", "index_all_attributes",
	"max_retries", "num_workers", "local_mode", "resource_arn", "profile", "shared_credentials_file", "imds_retries",
	"telemetry", "transit_spans_in_otlp_format", "middleware",
	"retry_on_failure", "sending_queue", "timeout",
}

// decodeOptions reads an awsxray exporter's options; the settings that
// have no effect are named in one warning.
func decodeOptions(d exporter.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, awsxrayKeys)
	str := func(k string) string {
		v, _ := d.Scalar(f[k].Value, path+"."+k)
		return strings.TrimSpace(v)
	}
	a := &Options{
		Region: str("region"), RoleARN: str("role_arn"), ExternalID: str("external_id"), STSRegion: str("sts_region"),
		Timeout: DefaultTimeout, CAFile: str("certificate_file_path"), ProxyAddress: str("proxy_address"),
		InsecureSkipVerify: d.Bool(f["no_verify_ssl"].Value, path+".no_verify_ssl"),
	}
	var why []string
	unhonoured := func(k, reason string) {
		if _, ok := f[k]; ok {
			why = append(why, k+" ("+reason+")")
		}
	}
	if e, ok := f["endpoint"]; ok {
		a.Endpoint = d.HTTPURL(e, path+".endpoint")
		if u, err := url.Parse(a.Endpoint); err == nil && u.Port() == "2000" && (isLoopback(u.Hostname()) || u.Hostname() == "169.254.79.129") {
			d.Errorf(processor.Deref(e.Value), "%s.endpoint: %s is the X-Ray daemon's address, which takes segment documents, not OTLP; lambdaotel sends to X-Ray's OTLP endpoint itself: remove endpoint (region chooses it)", path, a.Endpoint)
		}
	}
	if a.Region != "" && !regionRE().MatchString(a.Region) {
		d.Errorf(processor.Deref(f["region"].Value), "%s.region: %q is not an AWS region, e.g. us-east-1", path, a.Region)
	}
	if a.RoleARN != "" && !strings.HasPrefix(a.RoleARN, "arn:") {
		d.Errorf(processor.Deref(f["role_arn"].Value), "%s.role_arn: %q is not an ARN; use arn:aws:iam::123456789012:role/NAME", path, a.RoleARN)
	}
	if a.RoleARN == "" {
		unhonoured("external_id", "no role_arn to assume")
		unhonoured("sts_region", "no role_arn to assume")
	}
	if e, ok := f["request_timeout_seconds"]; ok && !processor.IsNull(e.Value) {
		if s := d.Integer(e.Value, path+".request_timeout_seconds", 1, 3600); s > 0 {
			a.Timeout = time.Duration(s) * time.Second
		}
	}
	if a.ProxyAddress != "" {
		if u, err := url.Parse(a.ProxyAddress); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			d.Errorf(processor.Deref(f["proxy_address"].Value), "%s.proxy_address: %q is not a proxy URL; use http://HOST:PORT", path, pipelineRedact(a.ProxyAddress))
		}
	}
	if e, ok := f["aws_log_groups"]; ok {
		a.LogGroups, _ = d.List(e.Value, path+".aws_log_groups")
	}
	if e, ok := f["indexed_attributes"]; ok {
		a.IndexedAttributes, _ = d.List(e.Value, path+".indexed_attributes")
	}
	if e, ok := f["index_all_attributes"]; ok {
		a.IndexAllAttributes = d.Bool(e.Value, path+".index_all_attributes")
	}
	if e, ok := f["max_retries"]; ok && !processor.IsNull(e.Value) {
		d.Integer(e.Value, path+".max_retries", 0, 1000)
		why = append(why, "max_retries (failed requests are retried while the flush budget lasts, lambdaotel.flush.budget)")
	}
	if e, ok := f["num_workers"]; ok && !processor.IsNull(e.Value) {
		d.Integer(e.Value, path+".num_workers", 0, 1000)
		why = append(why, "num_workers (requests are sent one after another within each flush)")
	}
	if e, ok := f["local_mode"]; ok {
		d.Bool(e.Value, path+".local_mode") // nothing to do: the instance metadata service is never asked
	}
	if e, ok := f["transit_spans_in_otlp_format"]; ok && !processor.IsNull(e.Value) && !d.Bool(e.Value, path+".transit_spans_in_otlp_format") {
		why = append(why, "transit_spans_in_otlp_format: false (spans always go as OTLP to the OTLP endpoint)")
	}
	unhonoured("resource_arn", "it names the resource in X-Ray telemetry records, which are not sent")
	unhonoured("profile", "credentials come from the function's environment, never from ~/.aws")
	unhonoured("shared_credentials_file", "credentials come from the function's environment, never from a file")
	unhonoured("imds_retries", "there is no instance metadata service in Lambda")
	unhonoured("middleware", "collector extensions do not run")
	if e, ok := f["telemetry"]; ok {
		tf := d.Fields(e.Value, path+".telemetry", []string{"enabled", "include_metadata", "contributors", "hostname", "instance_id", "resource_arn"})
		if d.Bool(tf["enabled"].Value, path+".telemetry.enabled") {
			why = append(why, "telemetry (X-Ray telemetry records, PutTelemetryRecords, are not sent; the extension's own metrics are its self-telemetry)")
		}
	}
	for _, k := range []string{"retry_on_failure", "sending_queue", "timeout"} {
		if _, ok := f[k]; ok {
			why = append(why, k+" ("+map[string]string{
				"retry_on_failure": exporter.IgnoredKeys["retry_on_failure"],
				"sending_queue":    exporter.IgnoredKeys["sending_queue"],
				"timeout":          "request_timeout_seconds bounds each request",
			}[k]+")")
		}
	}
	sort.Strings(why)
	a.Unhonoured = why
	if len(a.Unhonoured) > 0 {
		d.Warnf("exporter %s: awsxray sends to X-Ray's OTLP endpoint; these settings have no effect: %s", key.Value, strings.Join(a.Unhonoured, "; "))
	}
	return a
}

var regionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`) }) // compiled at first use: start-up is cold start

// pipelineRedact hides a URL's password in messages.
func pipelineRedact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(invalid URL)"
}

// Describe says where the exporter sends, for the summary.
func (a *Options) Describe([]pipeline.Signal) string {
	region := a.Region
	if region == "" {
		region = "AWS_REGION"
	}
	dest := "X-Ray's OTLP endpoint in " + region
	if a.Endpoint != "" {
		dest = pipelineRedact(a.TracesURL(func(string) string { return "" }))
	}
	s := fmt.Sprintf("OTLP/HTTP (proto, gzip) traces to %s, signed with SigV4 (xray, %s)", dest, region)
	if a.RoleARN != "" {
		s += " as role " + a.RoleARN
	}
	s += fmt.Sprintf(", timeout %s; spans X-Ray would refuse are fixed or counted", a.Timeout)
	if len(a.LogGroups) > 0 {
		s += ", log groups " + strings.Join(a.LogGroups, ", ")
	}
	switch {
	case a.IndexAllAttributes:
		s += ", every attribute an annotation"
	case len(a.IndexedAttributes) > 0:
		s += ", annotations " + strings.Join(a.IndexedAttributes, ", ")
	}
	return s
}

// isLoopback reports whether host names only this machine: localhost or
// a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
