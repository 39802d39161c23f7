package lambdaotel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/lambdaotel/lambdaotel/internal/grpcexport"
)

// Setup builds tracer, meter and logger providers from the standard
// OpenTelemetry environment variables and installs them as the global
// providers, with the propagator of OTEL_PROPAGATORS (see NewPropagator).
// It returns a function that flushes and shuts the providers down.
//
// Each signal is exported over OTLP as the OTEL_EXPORTER_OTLP_* variables
// say: by default OTLP/HTTP with protobuf to http://localhost:4318 (plain
// HTTP, as the specification says, where the Go exporters alone would use
// TLS), where the lambdaotel extension and the OpenTelemetry Collector
// layers listen; OTEL_EXPORTER_OTLP_PROTOCOL=grpc (or per signal) for
// OTLP/gRPC, to localhost:4317 by default, when the function imports
// package github.com/lambdaotel/lambdaotel/otlpgrpc (without it the
// OTLP/gRPC exporters are not linked, and grpc is refused with an error
// naming that package: the signal goes over http/protobuf). OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and
// OTEL_LOGS_EXPORTER set to "none" turn a signal off, and
// OTEL_SDK_DISABLED=true all of them. The span processor batches, and the
// flush after each invocation sends the batch.
//
// The resource describes the function: cloud.provider, cloud.platform,
// cloud.region, faas.name, faas.version, faas.instance, faas.max_memory,
// aws.log.group.names, aws.log.stream.names and service.name (the function
// name), then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, which win.
//
// LAMBDAOTEL_XRAY_IDS=true makes trace IDs with [XRayIDGenerator].
//
// Start calls Setup. The error, if any, says what could not be set up;
// what could is installed.
func Setup(ctx context.Context) (shutdown func(context.Context) error, err error) {
	var errs []error
	prop, perr := NewPropagator(os.Getenv("OTEL_PROPAGATORS"))
	if perr != nil {
		errs = append(errs, fmt.Errorf("OTEL_PROPAGATORS: %w", perr))
	}
	otel.SetTextMapPropagator(prop)
	noop := func(context.Context) error { return nil }
	if v, _ := strconv.ParseBool(os.Getenv("OTEL_SDK_DISABLED")); v {
		return noop, errors.Join(errs...)
	}
	res, rerr := lambdaResource(ctx)
	if rerr != nil {
		errs = append(errs, fmt.Errorf("resource: %w", rerr))
	}

	var shutdowns []func(context.Context) error
	if on, e := signalEnabled("OTEL_TRACES_EXPORTER"); on {
		errs = append(errs, e)
		var exp sdktrace.SpanExporter
		var err error
		grpc, perr := useGRPC("TRACES")
		errs = append(errs, perr)
		switch {
		case grpc:
			exp, err = grpcexport.Registered.Traces(ctx, localDefault("TRACES"))
		case localDefault("TRACES"):
			exp, err = otlptracehttp.New(ctx, otlptracehttp.WithInsecure())
		default:
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("traces exporter: %w", err))
		} else {
			topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithBatcher(exp)}
			if v := os.Getenv("LAMBDAOTEL_XRAY_IDS"); v != "" {
				if on, err := strconv.ParseBool(v); err != nil {
					errs = append(errs, fmt.Errorf("LAMBDAOTEL_XRAY_IDS=%q: not true or false", v))
				} else if on {
					topts = append(topts, sdktrace.WithIDGenerator(XRayIDGenerator{}))
				}
			}
			tp := sdktrace.NewTracerProvider(topts...)
			otel.SetTracerProvider(tp)
			shutdowns = append(shutdowns, tp.Shutdown)
		}
	}
	if on, e := signalEnabled("OTEL_METRICS_EXPORTER"); on {
		errs = append(errs, e)
		var exp sdkmetric.Exporter
		var err error
		grpc, perr := useGRPC("METRICS")
		errs = append(errs, perr)
		switch {
		case grpc:
			exp, err = grpcexport.Registered.Metrics(ctx, localDefault("METRICS"))
		case localDefault("METRICS"):
			exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithInsecure())
		default:
			exp, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("metrics exporter: %w", err))
		} else {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
			otel.SetMeterProvider(mp)
			shutdowns = append(shutdowns, mp.Shutdown)
		}
	}
	if on, e := signalEnabled("OTEL_LOGS_EXPORTER"); on {
		errs = append(errs, e)
		var exp sdklog.Exporter
		var err error
		grpc, perr := useGRPC("LOGS")
		errs = append(errs, perr)
		switch {
		case grpc:
			exp, err = grpcexport.Registered.Logs(ctx, localDefault("LOGS"))
		case localDefault("LOGS"):
			exp, err = otlploghttp.New(ctx, otlploghttp.WithInsecure())
		default:
			exp, err = otlploghttp.New(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("logs exporter: %w", err))
		} else {
			lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
			otel.SetLoggerProvider(lp)
			shutdowns = append(shutdowns, lp.Shutdown)
		}
	}
	shutdown = func(ctx context.Context) error {
		var errs []error
		for _, s := range shutdowns {
			errs = append(errs, s(ctx))
		}
		return errors.Join(errs...)
	}
	return shutdown, errors.Join(errs...)
}

// signalEnabled reads OTEL_<SIGNAL>_EXPORTER: "otlp" (the default) or
// "none". Any other exporter is not built in: the signal goes over OTLP,
// and the error says so.
func signalEnabled(env string) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(env)))
	switch v {
	case "", "otlp":
		return true, nil
	case "none":
		return false, nil
	}
	return true, fmt.Errorf("%s=%s: only otlp and none are supported; using otlp", env, v)
}

// localDefault reports whether a signal (TRACES, METRICS, LOGS) goes to the
// default endpoint, http://localhost:4318 (or localhost:4317 for gRPC),
// where the extension or collector layer listens: no endpoint and no
// insecure setting is given, for the signal or all. The specification's
// default endpoint is plain HTTP there, while the Go exporters would
// otherwise use TLS and fail.
func localDefault(signal string) bool {
	for _, env := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_" + signal + "_INSECURE"} {
		if strings.TrimSpace(os.Getenv(env)) != "" {
			return false
		}
	}
	return true
}

// otlpgrpcPackage is the package that links the OTLP/gRPC exporters.
const otlpgrpcPackage = "github.com/lambdaotel/lambdaotel/otlpgrpc"

// useGRPC reads the OTLP protocol of a signal (TRACES, METRICS, LOGS):
// OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL;
// http/protobuf (the default) or grpc, which needs package otlpgrpc. http/json is not built into the Go
// exporters: the signal goes as http/protobuf, and the error says so.
func useGRPC(signal string) (bool, error) {
	env := "OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL"
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		env = "OTEL_EXPORTER_OTLP_PROTOCOL"
		v = strings.TrimSpace(os.Getenv(env))
	}
	switch v {
	case "", "http/protobuf":
		return false, nil
	case "grpc":
		if grpcexport.Registered == nil {
			return false, fmt.Errorf("%s=%s: the OTLP/gRPC exporters are not linked: import _ %q to use them; using http/protobuf", env, v, otlpgrpcPackage)
		}
		return true, nil
	}
	return false, fmt.Errorf("%s=%s: supported are http/protobuf and grpc; using http/protobuf", env, v)
}

// lambdaResource is the function's resource
// (https://opentelemetry.io/docs/specs/semconv/resource/faas/,
// https://opentelemetry.io/docs/specs/semconv/resource/cloud/), with the
// SDK's attributes and OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME on
// top.
func lambdaResource(ctx context.Context) (*resource.Resource, error) {
	return resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(lambdaAttributes(os.Getenv)...),
		resource.WithFromEnv(),
	)
}

// lambdaAttributes are the resource attributes Lambda's environment
// variables give.
func lambdaAttributes(getenv func(string) string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.CloudProviderAWS, semconv.CloudPlatformAWSLambda}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region != "" {
		attrs = append(attrs, semconv.CloudRegion(region))
	}
	if name := getenv("AWS_LAMBDA_FUNCTION_NAME"); name != "" {
		attrs = append(attrs, semconv.FaaSName(name), semconv.ServiceName(name))
	}
	if v := getenv("AWS_LAMBDA_FUNCTION_VERSION"); v != "" {
		attrs = append(attrs, semconv.FaaSVersion(v))
	}
	if mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && mb > 0 {
		attrs = append(attrs, semconv.FaaSMaxMemory(mb<<20))
	}
	if g := getenv("AWS_LAMBDA_LOG_GROUP_NAME"); g != "" {
		attrs = append(attrs, semconv.AWSLogGroupNames(g))
	}
	if s := getenv("AWS_LAMBDA_LOG_STREAM_NAME"); s != "" {
		// faas.instance on AWS Lambda is the log stream name.
		attrs = append(attrs, semconv.FaaSInstance(s), semconv.AWSLogStreamNames(s))
	}
	return attrs
}
