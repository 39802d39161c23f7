package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/sigv4auth"
)

// Variables of the AWS destination shortcut.
const (
	// EnvExporter set to "aws" sends traces to X-Ray (the awsxray
	// exporter) and logs to CloudWatch Logs over their OTLP endpoints,
	// signed with the function's credentials, instead of
	// LAMBDAOTEL_EXPORTER_OTLP_*.
	EnvExporter = "LAMBDAOTEL_EXPORTER"
	// EnvAWSLogGroup and EnvAWSLogStream name the log group and stream
	// that logs go to (x-aws-log-group, x-aws-log-stream). The group
	// defaults to the function's; the stream to DefaultAWSLogStream.
	EnvAWSLogGroup  = "LAMBDAOTEL_AWS_LOG_GROUP"
	EnvAWSLogStream = "LAMBDAOTEL_AWS_LOG_STREAM"
	// EnvAWSMetrics set to true also sends metrics to CloudWatch's OTLP
	// metrics endpoint (monitoring.REGION.amazonaws.com/v1/metrics).
	EnvAWSMetrics = "LAMBDAOTEL_AWS_METRICS"
)

// DefaultAWSLogStream is the log stream OTLP logs go to when neither
// LAMBDAOTEL_AWS_LOG_STREAM nor AWS_LAMBDA_LOG_STREAM_NAME is set.
// Extensions are not given the function's log stream (it changes with
// every environment), and the CloudWatch Logs OTLP endpoint writes only to
// a stream that exists: create this one once, next to the log group.
const DefaultAWSLogStream = "lambdaotel"

// awsDefault is Default for LAMBDAOTEL_EXPORTER=aws.
func awsDefault(getenv func(string) string) (*Config, error) {
	region := firstNonEmpty(strings.TrimSpace(getenv("AWS_REGION")), strings.TrimSpace(getenv("AWS_DEFAULT_REGION")))
	if region == "" {
		return nil, envError(EnvExporter, "aws: AWS_REGION is not set; Lambda sets it, elsewhere set it to the region of X-Ray and CloudWatch")
	}
	cfg := &Config{
		Source: "built-in AWS default (LAMBDAOTEL_EXPORTER=aws): X-Ray and CloudWatch in " + region,
		Receivers: map[string]*Receiver{
			"otlp": {ID: "otlp", Type: "otlp", OTLP: &OTLPReceiver{
				GRPC: &GRPCServer{Endpoint: DefaultGRPCEndpoint},
				HTTP: &HTTPServer{Endpoint: DefaultHTTPEndpoint},
			}},
			"telemetryapi": {ID: "telemetryapi", Type: "telemetryapi", TelemetryAPI: &TelemetryAPIReceiver{
				Types: []string{TelemetryPlatform, TelemetryFunction, TelemetryExtension},
				// X-Ray receives Lambda's own segments: the invocation span
				// joins that trace rather than starting its own.
				AdoptXRayParent: true,
			}},
		},
		Processors: map[string]*Processor{},
		Exporters:  map[string]*Exporter{},
		Pipelines:  map[string]*Pipeline{},
		Extensions: map[string]*Extension{},
		Settings:   defaultSettings(),
	}
	group := firstNonEmpty(getenv(EnvAWSLogGroup), getenv("AWS_LAMBDA_LOG_GROUP_NAME"))
	if group == "" {
		if fn := getenv("AWS_LAMBDA_FUNCTION_NAME"); fn != "" {
			group = "/aws/lambda/" + fn
		}
	}
	if group == "" {
		return nil, envError(EnvAWSLogGroup, "aws: no log group: set %s (outside Lambda, AWS_LAMBDA_FUNCTION_NAME is not set either)", EnvAWSLogGroup)
	}
	stream := firstNonEmpty(getenv(EnvAWSLogStream), getenv("AWS_LAMBDA_LOG_STREAM_NAME"))
	if stream == "" {
		stream = DefaultAWSLogStream
	}
	signals := []struct {
		sig      pipeline.Signal
		service  string // signing name and host prefix
		endpoint string // AWS_ENDPOINT_URL_<id>
		on       bool
	}{
		{pipeline.Traces, "xray", "XRAY", true},
		{pipeline.Logs, "logs", "CLOUDWATCH_LOGS", true},
		{pipeline.Metrics, "monitoring", "CLOUDWATCH", strings.EqualFold(strings.TrimSpace(getenv(EnvAWSMetrics)), "true")},
	}
	for _, s := range signals {
		if !s.on {
			continue
		}
		if s.sig == pipeline.Traces {
			// The awsxray exporter: the same endpoint and signature, and the
			// spans X-Ray would refuse fixed or counted before they are sent.
			cfg.Exporters["awsxray"] = &Exporter{ID: "awsxray", Type: "awsxray", AWSXRay: &AWSXRayExporter{Region: region, Timeout: defaultEnvTimeout}}
			cfg.Pipelines[string(s.sig)] = &Pipeline{ID: string(s.sig), Signal: s.sig, Receivers: []string{"otlp", "telemetryapi"}, Exporters: []string{"awsxray"}}
			continue
		}
		id := "otlphttp/" + s.service
		auth := "sigv4auth/" + s.service
		cfg.Extensions[auth] = &Extension{ID: auth, Type: "sigv4auth", SigV4: &SigV4Auth{Region: region, Service: s.service}}
		o := &OTLPHTTPExporter{Compression: CompressionGzip, Encoding: "proto", Timeout: defaultEnvTimeout}
		u := sigv4auth.Endpoint(getenv, s.endpoint, s.service, region) + "/v1/" + string(s.sig)
		switch s.sig {
		case pipeline.Logs:
			o.LogsEndpoint = u
			o.Headers = map[string]string{"x-aws-log-group": group, "x-aws-log-stream": stream}
		case pipeline.Metrics:
			o.MetricsEndpoint = u
		}
		cfg.Exporters[id] = &Exporter{ID: id, Type: "otlphttp", Auth: auth, OTLPHTTP: o}
		cfg.Pipelines[string(s.sig)] = &Pipeline{ID: string(s.sig), Signal: s.sig, Receivers: []string{"otlp", "telemetryapi"}, Exporters: []string{id}}
	}
	cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("logs go to CloudWatch Logs group %q, stream %q: the stream must exist (set %s to choose another)", group, stream, EnvAWSLogStream))
	if cfg.Pipelines[string(pipeline.Metrics)] == nil {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("metrics are not exported: CloudWatch's OTLP metrics endpoint is in preview; set %s=true to send them there", EnvAWSMetrics))
	}
	for _, name := range exporterEnvNames {
		if getenv(name) != "" {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s is set but not used: %s=aws chooses the AWS endpoints", name, EnvExporter))
		}
	}
	if err := applyEnv(&cfg.Settings, getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// IsAWSOTLPEndpoint reports whether u is one of AWS's OTLP endpoints
// (xray, logs or monitoring .REGION.amazonaws.com), which need SigV4.
func IsAWSOTLPEndpoint(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	service, region := sigv4auth.Infer(p.Host)
	return region != "" && (service == "xray" || service == "logs" || service == "monitoring")
}

// signAWSEndpoints gives every otlphttp exporter of the default
// configuration that sends to an AWS OTLP endpoint a sigv4auth
// authenticator (service and region from the endpoint's host).
func signAWSEndpoints(cfg *Config) {
	for _, e := range cfg.Exporters {
		o := e.OTLPHTTP
		if o == nil || e.Auth != "" {
			continue
		}
		for _, s := range pipeline.Signals {
			if IsAWSOTLPEndpoint(o.URL(s)) {
				if cfg.Extensions == nil {
					cfg.Extensions = map[string]*Extension{}
				}
				cfg.Extensions["sigv4auth"] = &Extension{ID: "sigv4auth", Type: "sigv4auth", SigV4: &SigV4Auth{}}
				e.Auth = "sigv4auth"
				break
			}
		}
	}
}

// warnUnsignedAWS warns about exporters that send to an AWS OTLP endpoint
// without an authenticator (AWS answers 403) or over gRPC (the endpoints
// speak only OTLP/HTTP).
func (p *parser) warnUnsignedAWS(cfg *Config) {
	for _, id := range sortedKeys(cfg.Exporters) {
		e := cfg.Exporters[id]
		switch {
		case e.OTLPHTTP != nil && e.Auth == "":
			for _, s := range pipeline.Signals {
				if u := e.OTLPHTTP.URL(s); IsAWSOTLPEndpoint(u) {
					p.warnf("exporters.%s sends %s to %s, which accepts only SigV4-signed requests: add auth: {authenticator: sigv4auth} and declare extensions: {sigv4auth: {}}", id, s, u)
					break
				}
			}
		case e.OTLP != nil && IsAWSOTLPEndpoint("https://"+e.OTLP.Endpoint) || e.OTLP != nil && IsAWSOTLPEndpoint(e.OTLP.Endpoint):
			p.warnf("exporters.%s: AWS's OTLP endpoints accept only OTLP/HTTP, not gRPC: use an otlphttp exporter", id)
		}
	}
}
