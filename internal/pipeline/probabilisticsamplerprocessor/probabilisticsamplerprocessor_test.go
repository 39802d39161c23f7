package probabilisticsamplerprocessor

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

func init() { processor.Register(Factory) }

func decode(t *testing.T, options string) (any, error) {
	t.Helper()
	yml := "receivers:\n  otlp:\n    protocols:\n      http:\nprocessors:\n  probabilistic_sampler/x:\n" + options + "\nexporters:\n  debug:\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [probabilistic_sampler/x]\n      exporters: [debug]\n"
	cfg, err := config.Parse([]byte(yml), "config.yaml", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	return cfg.Processors["probabilistic_sampler/x"].Options, nil
}

func newProcessor(t *testing.T, options string) *Processor {
	t.Helper()
	cfg, err := decode(t, "    "+strings.ReplaceAll(options, "\n", "\n    "))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Processor)
}

func traceID(t *testing.T, s string) pcommon.TraceID {
	t.Helper()
	var id pcommon.TraceID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("bad trace id %q", s)
	}
	copy(id[:], b)
	return id
}

// sampleOne runs one span through the processor and returns whether it
// was kept and its tracestate afterwards.
func sampleOne(t *testing.T, p *Processor, tid, tracestate string, attrs map[string]any) (bool, string) {
	t.Helper()
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceID(t, tid))
	s.TraceState().FromRaw(tracestate)
	if err := s.Attributes().FromRaw(attrs); err != nil {
		t.Fatal(err)
	}
	if err := p.ProcessTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if td.SpanCount() == 0 {
		return false, ""
	}
	return true, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceState().AsRaw()
}

// TestUpstreamDecisions checks decisions and written tracestates against
// values computed from the collector's documented algorithms, by a small
// Python program written for this test independently of this package's
// code (not from the collector's code, and not by running this package):
//
//   - hash_seed: h = FNV-1a-32(hash_seed as 4 little-endian bytes ||
//     the 16 trace id bytes); keep when (h & 0x3fff) < rate, where
//     rate = uint32(float32(pct) * float32(163.84)) (float32 arithmetic
//     emulated with struct.pack('f')): 25% gives rate 4096, 33.3% 5455.
//     A kept span gets tracestate "ot=rv:R;th:T" with
//     R = (16383-(h&0x3fff))<<42 | (u^(u<<10))<<14 | (h&0x3fff), u = h>>14,
//     and T = the 14-hex-digit (16384-rate)<<42 without trailing zeros
//     (25%: "c", 33.3%: "aac4").
//   - proportional and equalizing: R = the trace id's last 7 bytes; the
//     threshold for probability p at precision 4 is 2^56 - round(p*2^56),
//     with one more hex digit per leading 0/f, rounded half up to that
//     many digits (10%: e666; 10% of an arriving 50% = 5%: f3333); keep
//     when T <= R. An arriving th above R is inconsistent: dropped
//     (fail_closed). Equalizing keeps the larger of its own and the
//     arriving threshold.
func TestUpstreamDecisions(t *testing.T) {
	const (
		hash25   = "sampling_percentage: 25"
		hash333  = "sampling_percentage: 33.3\nhash_seed: 12345"
		prop10   = "sampling_percentage: 10\nmode: proportional"
		equal10  = "sampling_percentage: 10\nmode: equalizing"
		arriving = "ot=th:8"
	)
	cases := []struct {
		tid, options, tracestateIn string
		keep                       bool
		tracestateOut              string
	}{
		{"0102030405060708090a0b0c0d0e0f10", hash25, "", false, ""},                         // h=6693
		{"4bf92f3577b34da6a3ce929d0e0e4736", hash25, "", true, "ot=rv:fdc8d0b520408d;th:c"}, // h=141
		{"ffffffffffffffffffffffffffffffff", hash25, "", false, ""},                         // h=5445
		{"00000000000000000000000000000001", hash25, "", false, ""},                         // h=8898
		{"0000000000000000e666000000000000", hash25, "", true, "ot=rv:e42afd2e6446f5;th:c"}, // h=1781
		{"0000000000000000e666000000000000", hash25, "vendor=x", true, "ot=rv:e42afd2e6446f5;th:c,vendor=x"},
		{"deadbeefdeadbeefdeadbeefdeadbeef", hash25, "", false, ""},                             // h=7621
		{"deadbeefdeadbeefdeadbeefdeadbeef", hash333, "", true, "ot=rv:e60c353a4dc67c;th:aac4"}, // h=1660 < 5455
		{"a3ce929d0e0e47364bf92f3577b34da6", hash333, "", true, "ot=rv:de0c2398e4087c;th:aac4"}, // h=2172
		{"4bf92f3577b34da6a3ce929d0e0e4736", hash333, "", false, ""},                            // h=8544
		{"0af7651916cd43dd8448eb211c80319c", hash333, "", false, ""},                            // h=15757
		{"0000000000000000e666000000000000", hash333, "", true, "ot=rv:bbddcce425d108;th:aac4"}, // h=4360
		// hash_seed refuses items that already carry consistent-sampling values (fail_closed).
		{"4bf92f3577b34da6a3ce929d0e0e4736", hash25, "ot=th:0", false, ""},
		{"4bf92f3577b34da6a3ce929d0e0e4736", hash25, "ot=rv:ffffffffffffff", false, ""},

		{"0102030405060708090a0b0c0d0e0f10", prop10, "", false, ""}, // R=0a0b0c0d0e0f10 < e666...
		{"ffffffffffffffffffffffffffffffff", prop10, "", true, "ot=th:e666"},
		{"a3ce929d0e0e47364bf92f3577b34da6", prop10, "", true, "ot=th:e666"}, // R=f92f3577b34da6
		{"4bf92f3577b34da6a3ce929d0e0e4736", prop10, "", false, ""},          // R=ce929d0e0e4736
		{"000000000000000000e6660000000000", prop10, "", true, "ot=th:e666"}, // R = T exactly: kept
		{"000000000000000000e665ffffffffff", prop10, "", false, ""},          // R = T-1
		{"a3ce929d0e0e47364bf92f3577b34da6", prop10, arriving, true, "ot=th:f3333"},
		{"ffffffffffffffffffffffffffffffff", prop10, arriving, true, "ot=th:f3333"},
		{"5b8efff798038103d269b633813fc60c", prop10, arriving, false, ""}, // R=69b6... < 8: inconsistent
		{"4bf92f3577b34da6a3ce929d0e0e4736", prop10, arriving, false, ""}, // consistent, R < f3333...
		// an explicit rv takes the trace id's place
		{"00000000000000000000000000000001", prop10, "ot=rv:f0000000000000", true, "ot=rv:f0000000000000;th:e666"},

		{"a3ce929d0e0e47364bf92f3577b34da6", equal10, arriving, true, "ot=th:e666"},
		{"4bf92f3577b34da6a3ce929d0e0e4736", equal10, arriving, false, ""},
		{"4bf92f3577b34da6a3ce929d0e0e4736", equal10, "ot=th:f", false, ""},       // arriving 1/16: inconsistent with R=ce92...
		{"ffffffffffffffffffffffffffffffff", equal10, "ot=th:f", true, "ot=th:f"}, // arriving lower probability kept as it is
		{"ffffffffffffffffffffffffffffffff", equal10, "ot=th:f;x:y,v=1", true, "ot=th:f;x:y,v=1"},
	}
	for _, c := range cases {
		p := newProcessor(t, c.options)
		keep, ts := sampleOne(t, p, c.tid, c.tracestateIn, nil)
		if keep != c.keep || ts != c.tracestateOut {
			t.Errorf("%s with %q, tracestate %q: kept %v (tracestate %q), want %v (%q)", c.tid, strings.ReplaceAll(c.options, "\n", "; "), c.tracestateIn, keep, ts, c.keep, c.tracestateOut)
		}
	}
}

// TestThresholds: the threshold encoding of the tracestate probability
// sampling specification (values computed with the same Python program).
func TestThresholds(t *testing.T) {
	for _, c := range []struct {
		p    float64
		prec int
		want string
	}{
		{0.25, 4, "c"}, {0.5, 1, "8"}, {0.1, 1, "e"}, {0.1, 4, "e666"}, {1.0 / 3, 4, "aaab"}, {1.0 / 3, 14, "aaaaaaaaaaaaac"},
		{0.01, 4, "fd70a"}, {0.001, 4, "ffbe77"}, {0.9999, 4, "00068dc"}, {minProbability, 4, "ffffffffffffff"}, {1, 4, "0"},
	} {
		th, err := probabilityToThreshold(c.p, c.prec)
		if err != nil || th.tvalue() != c.want {
			t.Errorf("probability %v precision %d: th %q (%v), want %q", c.p, c.prec, th.tvalue(), err, c.want)
		}
		if back, err := parseTValue(c.want); err != nil || back != th {
			t.Errorf("th %q parses to %x (%v), want %x", c.want, uint64(back), err, uint64(th))
		}
	}
}

// TestSpanOverrides: sampling.priority and the fail_closed handling of
// items without randomness.
func TestSpanOverrides(t *testing.T) {
	const id = "0102030405060708090a0b0c0d0e0f10" // not sampled at 25%
	const zero = "00000000000000000000000000000000"
	for _, c := range []struct {
		name, options, tid string
		attrs              map[string]any
		keep               bool
	}{
		{"priority 1 keeps", "sampling_percentage: 25", id, map[string]any{"sampling.priority": int64(1)}, true},
		{"priority as a string", "sampling_percentage: 25", id, map[string]any{"sampling.priority": "2"}, true},
		{"priority 0 drops", "sampling_percentage: 100", id, map[string]any{"sampling.priority": 0.0}, false},
		{"priority keeps at 0%", "sampling_percentage: 0", id, map[string]any{"sampling.priority": int64(1)}, true},
		{"0% keeps nothing", "sampling_percentage: 0", "ffffffffffffffffffffffffffffffff", nil, false},
		{"100% keeps everything", "sampling_percentage: 100", id, nil, true},
		{"above 100 is 100", "sampling_percentage: 250\nmode: proportional", "00000000000000000000000000000001", nil, true},
		{"no trace id: dropped (fail_closed)", "sampling_percentage: 100", zero, nil, false},
		{"no trace id, fail_closed false: kept", "sampling_percentage: 1\nfail_closed: false", zero, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			keep, _ := sampleOne(t, newProcessor(t, c.options), c.tid, "", c.attrs)
			if keep != c.keep {
				t.Errorf("kept %v, want %v", keep, c.keep)
			}
		})
	}
	if keep, _ := sampleOne(t, newProcessor(t, "sampling_percentage: 100\nmode: proportional"), id, "ot=th:zz", nil); keep {
		t.Error("a span with an unparsable th was kept with fail_closed")
	}
	if keep, _ := sampleOne(t, newProcessor(t, "sampling_percentage: 100\nmode: proportional\nfail_closed: false"), id, "ot=th:zz", nil); !keep {
		t.Error("a span with an unparsable th was dropped without fail_closed")
	}
}

// TestLogs: log records by trace id, by a record attribute (hash_seed;
// FNV-1a of seed 0 and "order-N", values from the same Python program:
// order-1 9021, order-2 7812, order-3 8215, order-4 7006, order-5 7409
// against rate 8192 at 50%), and sampling_priority as a percentage.
func TestLogs(t *testing.T) {
	p := newProcessor(t, "sampling_percentage: 50\nattribute_source: record\nfrom_attribute: order_id\nsampling_priority: prio")
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, o := range []struct {
		id   string
		prio any
	}{{"order-1", nil}, {"order-2", nil}, {"order-3", int64(100)}, {"order-4", nil}, {"order-5", 0.0}} {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(o.id)
		lr.Attributes().PutStr("order_id", o.id)
		if o.prio != nil {
			if err := lr.Attributes().PutEmpty("prio").FromRaw(o.prio); err != nil {
				t.Fatal(err)
			}
		}
	}
	lrs.AppendEmpty().Body().SetStr("no attribute") // no randomness: dropped
	if err := p.ProcessLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		th, _ := lr.Attributes().Get("sampling.threshold")
		rv, _ := lr.Attributes().Get("sampling.randomness")
		got = append(got, lr.Body().Str()+" th="+th.AsString()+" rv="+rv.AsString())
	}
	// order-3 (hash 8215, not below 8192) is kept by its priority 100;
	// order-5's priority 0 leaves the configured 50% (as upstream's code
	// does), and its hash 7409 is below 8192.
	want := []string{"order-2 th=8 rv=85ece2d5bb5e84", "order-3 th=0 rv=7fa0e6d4bb6017", "order-4 th=8 rv=9284dadbbb5b5e", "order-5 th=8 rv=8c38dedabb5cf1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kept\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// By trace id, proportional: the same decision as for a span.
	p = newProcessor(t, "sampling_percentage: 10\nmode: proportional")
	ld = plog.NewLogs()
	lrs = ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().SetTraceID(traceID(t, "a3ce929d0e0e47364bf92f3577b34da6"))
	lrs.AppendEmpty().SetTraceID(traceID(t, "4bf92f3577b34da6a3ce929d0e0e4736"))
	if err := p.ProcessLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if n := ld.LogRecordCount(); n != 1 {
		t.Fatalf("%d log records kept, want 1", n)
	}
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if th, _ := lr.Attributes().Get("sampling.threshold"); lr.TraceID() != traceID(t, "a3ce929d0e0e47364bf92f3577b34da6") || th.AsString() != "e666" {
		t.Errorf("kept %s with sampling.threshold %q, want a3ce... with e666", lr.TraceID(), th.AsString())
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ options, want string }{
		{"    hash_seed: 1", "config.yaml:6:3: processors.probabilistic_sampler/x: sampling_percentage is required: the percentage of traces (and log records) to keep, e.g. 10"},
		{"    sampling_percentage: ten", `config.yaml:7:26: processors.probabilistic_sampler/x.sampling_percentage: expected a number such as 10 or 0.5, got "ten"`},
		{"    sampling_percentage: -1", `config.yaml:7:26: processors.probabilistic_sampler/x.sampling_percentage: "-1" is negative; 0 keeps nothing, 100 everything`},
		{"    sampling_percentage: 1\n    hash_seed: -3", `config.yaml:8:16: processors.probabilistic_sampler/x.hash_seed: expected a whole number from 0 to 4294967295, got "-3"`},
		{"    sampling_percentage: 1\n    mode: downsample", `config.yaml:8:11: processors.probabilistic_sampler/x.mode: unsupported value "downsample"; supported: hash_seed, proportional, equalizing`},
		{"    sampling_percentage: 1\n    sampling_precision: 15", `config.yaml:8:25: processors.probabilistic_sampler/x.sampling_precision: expected a whole number from 1 to 14 (hex digits of the threshold), got "15"`},
		{"    sampling_percentage: 1\n    attribute_source: span", `config.yaml:8:23: processors.probabilistic_sampler/x.attribute_source: unsupported value "span"; supported: traceID, record`},
		{"    sampling_percentage: 1\n    attribute_source: record", `config.yaml:8:23: processors.probabilistic_sampler/x: attribute_source record needs from_attribute: the log record attribute to hash`},
		{"    sampling_percentage: 1\n    sampler_mode: x", `config.yaml:8:5: processors.probabilistic_sampler/x: unknown key "sampler_mode"; supported: sampling_percentage, hash_seed, mode, fail_closed, sampling_precision, attribute_source, from_attribute, sampling_priority`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := decode(t, c.options)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant  %s", err, c.want)
			}
		})
	}
}
