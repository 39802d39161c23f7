package lambdaotel

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// LogOptions configures NewLogHandler.
type LogOptions struct {
	// Level is the least level of the records handled (default
	// slog.LevelInfo).
	Level slog.Leveler
	// LoggerProvider receives the records (default: the global one, which
	// Start sets up).
	LoggerProvider log.LoggerProvider
	// Next, if set, also receives every record, with trace_id, span_id and
	// faas.invocation_id added, for instance a slog.JSONHandler on stdout
	// that writes to the function's log. (With the lambdaotel extension's
	// telemetryapi receiver, the function's log lines become log records
	// too: choose one of the two ways.)
	Next slog.Handler
}

// NewLogHandler returns a slog.Handler that sends records to the
// OpenTelemetry logger provider, each with the trace and span ids of the
// span in the context it is logged with (use slog's ...Context functions
// with the handler's context) and faas.invocation_id, the request id of
// that invocation. Groups become map attributes.
func NewLogHandler(opts *LogOptions) slog.Handler {
	var o LogOptions
	if opts != nil {
		o = *opts
	}
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	lp := o.LoggerProvider
	if lp == nil {
		lp = otel.GetLoggerProvider()
	}
	return &logHandler{
		opts:   o,
		logger: lp.Logger(ScopeName, log.WithInstrumentationVersion(Version), log.WithSchemaURL(schemaURL)),
		next:   o.Next,
	}
}

type logHandler struct {
	opts   LogOptions
	logger log.Logger
	next   slog.Handler
	// goas are the attributes and groups of WithAttrs and WithGroup, in
	// order.
	goas []groupOrAttrs
}

type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

// Enabled implements slog.Handler.
func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.opts.Level.Level()
}

// Handle implements slog.Handler.
func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var id string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}

	var rec log.Record
	rec.SetTimestamp(r.Time)
	rec.SetSeverity(severity(r.Level))
	rec.SetSeverityText(r.Level.String())
	rec.SetBody(attribute.StringValue(r.Message))
	rec.AddAttributes(h.attributes(r)...)
	if id != "" {
		rec.AddAttributes(semconv.FaaSInvocationID(id))
	}
	h.logger.Emit(ctx, rec)

	if h.next == nil || !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	r = r.Clone()
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if id != "" {
		r.AddAttrs(slog.String(string(semconv.FaaSInvocationIDKey), id))
	}
	return h.next.Handle(ctx, r)
}

// attributes converts the handler's and the record's attributes, nesting
// them in their groups.
func (h *logHandler) attributes(r slog.Record) []attribute.KeyValue {
	// The innermost level: the record's attributes, under every group.
	level := make([]attribute.KeyValue, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		level = appendAttr(level, a)
		return true
	})
	for i := len(h.goas) - 1; i >= 0; i-- {
		g := h.goas[i]
		if g.group == "" {
			var kvs []attribute.KeyValue
			for _, a := range g.attrs {
				kvs = appendAttr(kvs, a)
			}
			level = append(kvs, level...)
			continue
		}
		if len(level) == 0 {
			continue // slog drops empty groups
		}
		level = []attribute.KeyValue{{Key: attribute.Key(g.group), Value: attribute.MapValue(level...)}}
	}
	return level
}

func appendAttr(kvs []attribute.KeyValue, a slog.Attr) []attribute.KeyValue {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return kvs
	}
	if v.Kind() == slog.KindGroup {
		var group []attribute.KeyValue
		for _, ga := range v.Group() {
			group = appendAttr(group, ga)
		}
		if len(group) == 0 {
			return kvs
		}
		if a.Key == "" { // inline the group, as slog does
			return append(kvs, group...)
		}
		return append(kvs, attribute.KeyValue{Key: attribute.Key(a.Key), Value: attribute.MapValue(group...)})
	}
	return append(kvs, attribute.KeyValue{Key: attribute.Key(a.Key), Value: value(v)})
}

// value converts a resolved slog value.
func value(v slog.Value) attribute.Value {
	switch v.Kind() {
	case slog.KindString:
		return attribute.StringValue(v.String())
	case slog.KindInt64:
		return attribute.Int64Value(v.Int64())
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			return attribute.Int64Value(int64(u))
		}
		return attribute.StringValue(v.String())
	case slog.KindFloat64:
		return attribute.Float64Value(v.Float64())
	case slog.KindBool:
		return attribute.BoolValue(v.Bool())
	case slog.KindDuration:
		return attribute.Int64Value(v.Duration().Nanoseconds())
	case slog.KindTime:
		return attribute.Int64Value(v.Time().UnixNano())
	}
	switch x := v.Any().(type) {
	case error:
		return attribute.StringValue(x.Error())
	case []byte:
		return attribute.ByteSliceValue(x)
	case fmt.Stringer:
		return attribute.StringValue(x.String())
	}
	return attribute.StringValue(fmt.Sprintf("%+v", v.Any()))
}

// severity maps a slog level to an OpenTelemetry severity: DEBUG, INFO,
// WARN and ERROR to the first severity of each range, levels between to
// the ones between.
func severity(l slog.Level) log.Severity {
	s := int(l) + int(log.SeverityInfo)
	return log.Severity(min(max(s, int(log.SeverityTrace1)), int(log.SeverityFatal4)))
}

// WithAttrs implements slog.Handler.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{attrs: attrs})
	if h.next != nil {
		h2.next = h.next.WithAttrs(attrs)
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{group: name})
	if h.next != nil {
		h2.next = h.next.WithGroup(name)
	}
	return &h2
}
