package prometheusremotewriteexporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/otlpexporter"
)

// decoded is a WriteRequest as lines "name{labels} value@ms" and the
// metadata's family names. The module's own end-to-end tests decode with
// the Prometheus project's types; this one reads the wire format as the
// protobuf encoding describes it.
func decode(t *testing.T, body []byte) (lines, families []string) {
	t.Helper()
	fields := func(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, u uint64)) {
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				t.Fatalf("bad tag: %v", protowire.ParseError(n))
			}
			b = b[n:]
			switch typ {
			case protowire.BytesType:
				v, n := protowire.ConsumeBytes(b)
				if n < 0 {
					t.Fatalf("bad bytes: %v", protowire.ParseError(n))
				}
				f(num, typ, v, 0)
				b = b[n:]
			case protowire.VarintType:
				u, n := protowire.ConsumeVarint(b)
				f(num, typ, nil, u)
				b = b[n:]
			case protowire.Fixed64Type:
				u, n := protowire.ConsumeFixed64(b)
				f(num, typ, nil, u)
				b = b[n:]
			default:
				t.Fatalf("unexpected wire type %v", typ)
			}
		}
	}
	fields(body, func(num protowire.Number, _ protowire.Type, ts []byte, _ uint64) {
		switch num {
		case 1:
			var name string
			var ls, samples []string
			fields(ts, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
				switch num {
				case 1:
					var k, val string
					fields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
						if num == 1 {
							k = string(v)
						} else {
							val = string(v)
						}
					})
					if k == "__name__" {
						name = val
					} else {
						ls = append(ls, fmt.Sprintf("%s=%q", k, val))
					}
				case 2:
					var value float64
					var ms int64
					fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, u uint64) {
						if num == 1 {
							value = math.Float64frombits(u)
						} else {
							ms = int64(u)
						}
					})
					samples = append(samples, fmt.Sprintf("%v@%d", value, ms))
				}
			})
			for _, s := range samples {
				lines = append(lines, name+"{"+strings.Join(ls, ",")+"} "+s)
			}
		case 3:
			fields(ts, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
				if num == 2 {
					families = append(families, string(v))
				}
			})
		}
	})
	return lines, families
}

// receiver is a remote write endpoint that answers with status (200 if 0).
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	status   int
	header   http.Header
	requests int
	lines    []string
	families []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.header = req.Header.Clone()
	if r.status != 0 && r.status != 200 {
		w.Header().Set("Retry-After", "2")
		http.Error(w, "out of order sample", r.status)
		return
	}
	body, _ := io.ReadAll(req.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		r.t.Errorf("body is not snappy block format: %v", err)
		http.Error(w, err.Error(), 400)
		return
	}
	lines, fams := decode(r.t, raw)
	r.lines = append(r.lines, lines...)
	r.families = append(r.families, fams...)
}

func newReceiver(t *testing.T) (*receiver, string) {
	r := &receiver{t: t}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/api/v1/write"
}

func TestExport(t *testing.T) {
	rcv, url := newReceiver(t)
	signed := 0
	e, err := New("prometheusremotewrite", Config{
		Endpoint: url, Headers: map[string]string{"X-Scope-OrgID": "tenant-1"}, AddMetricSuffixes: true, TargetInfo: true,
		SendMetadata: true, MaxBatchSizeBytes: 1024, Instance: "env-1",
		Wrap: func(next http.RoundTripper) http.RoundTripper {
			return roundTripper(func(r *http.Request) (*http.Response, error) { signed++; return next.RoundTrip(r) })
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	md := metrics(map[string]any{"service.name": "orders", "cloud.region": "eu-west-1"})
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range 40 {
		counter(fmt.Sprintf("orders.placed.%02d", i), "{order}", int64(i))(ms)
	}
	if err := e.ExportMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if rcv.requests < 2 || signed != rcv.requests {
		t.Errorf("%d requests (%d through the wrapper); want several of at most 1024 bytes, each wrapped", rcv.requests, signed)
	}
	for k, v := range map[string]string{"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0", "X-Scope-Orgid": "tenant-1", "User-Agent": "lambdaotel/dev"} {
		if got := rcv.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	sort.Strings(rcv.lines)
	if len(rcv.lines) != 41 || rcv.lines[0] != `orders_placed_00_total{instance="env-1",job="orders"} 0@1700000000000` ||
		rcv.lines[40] != `target_info{cloud_region="eu-west-1",instance="env-1",job="orders"} 1@1700000000000` {
		t.Errorf("received %d series:\n%s", len(rcv.lines), strings.Join(rcv.lines, "\n"))
	}
	if len(rcv.families) != 40 {
		t.Errorf("metadata of %d families, want 40", len(rcv.families))
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestExportErrors(t *testing.T) {
	md := metrics(nil, counter("n", "", 1))
	for _, tc := range []struct {
		status    int
		retryable bool
		after     time.Duration
	}{
		{400, false, 0},
		{429, true, 2 * time.Second},
		{503, true, 2 * time.Second},
	} {
		rcv, url := newReceiver(t)
		rcv.status = tc.status
		e, err := New("prw", Config{Endpoint: url})
		if err != nil {
			t.Fatal(err)
		}
		err = e.ExportMetrics(context.Background(), md)
		var ee *pipeline.ExportError
		if !errors.As(err, &ee) || ee.Retryable != tc.retryable || ee.RetryAfter != tc.after || !strings.Contains(err.Error(), "out of order sample") {
			t.Errorf("%d: %v (%+v)", tc.status, err, ee)
		}
	}
	// Nobody listening: retryable.
	e, _ := New("prw", Config{Endpoint: "http://127.0.0.1:1/api/v1/write"})
	var ee *pipeline.ExportError
	if err := e.ExportMetrics(context.Background(), md); !errors.As(err, &ee) || !ee.Retryable {
		t.Errorf("connection refused: %v", err)
	}
	// Traces: refused, permanently.
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	if err := e.ExportTraces(context.Background(), td); !errors.As(err, &ee) || ee.Retryable || !strings.Contains(err.Error(), "metrics only") {
		t.Errorf("traces: %v", err)
	}
}

// TestExportDropped checks that points that cannot be sent are counted
// as rejected, after the others are sent.
func TestExportDropped(t *testing.T) {
	rcv, url := newReceiver(t)
	e, _ := New("prw", Config{Endpoint: url, Instance: "e"})
	md := metrics(nil, counter("n", "", 1), func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName("eh")
		eh := m.SetEmptyExponentialHistogram()
		eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := eh.DataPoints().AppendEmpty()
		dp.SetTimestamp(t0)
		dp.SetScale(-5)
	})
	err := e.ExportMetrics(context.Background(), md)
	var ee *pipeline.ExportError
	if !errors.As(err, &ee) || ee.Retryable || ee.Rejected != 1 || !strings.Contains(err.Error(), "scale below -4") {
		t.Errorf("got %v", err)
	}
	if len(rcv.lines) != 1 {
		t.Errorf("received %v, want the counter", rcv.lines)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "localhost:9090"}, "absolute http:// or https:// URL"},
		{Config{Endpoint: "http://h/api/v1/write", Timeout: -1}, "must not be negative"},
		{Config{Endpoint: "https://h/api/v1/write", TLS: tlsWithCA("/nonexistent/ca.pem")}, "CA file"},
	} {
		if _, err := New("prw", tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func tlsWithCA(path string) otlpexporter.TLSConfig { return otlpexporter.TLSConfig{CAFile: path} }
