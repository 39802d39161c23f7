package prometheusremotewriteexporter

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Labels Prometheus gives a meaning.
const (
	nameLabel     = "__name__"
	jobLabel      = "job"
	instanceLabel = "instance"
	leLabel       = "le"
	quantileLabel = "quantile"
)

// staleNaN is Prometheus' staleness marker, sent for a data point with
// the "no recorded value" flag.
var staleNaN = math.Float64frombits(0x7ff0000000000002)

// Remote write 1.0 metric types (prometheus.MetricMetadata.MetricType).
const (
	typeCounter   = 1
	typeGauge     = 2
	typeHistogram = 3
	typeSummary   = 5
)

type label struct{ name, value string }

type sample struct {
	value float64
	ts    int64 // milliseconds
}

// nativeHistogram is a Prometheus native histogram of integer counts.
type nativeHistogram struct {
	count, zeroCount uint64
	sum, zeroThresh  float64
	schema           int32
	posOffset        int32 // index of the first positive bucket
	posDeltas        []int64
	negOffset        int32
	negDeltas        []int64
	ts               int64
}

// timeSeries is one series of a request: sorted labels and its samples.
type timeSeries struct {
	labels     []label
	samples    []sample
	histograms []nativeHistogram
	exemplars  []exemplar
}

// exemplar is a sample of a trace: its labels (trace_id, span_id), value
// and time.
type exemplar struct {
	labels []label
	value  float64
	ts     int64
}

type metadata struct {
	typ                int32
	family, help, unit string
}

// result is what one batch of metrics becomes.
type result struct {
	series   []*timeSeries
	metadata []metadata
	// dropped counts data points that cannot be sent, by reason.
	dropped map[string]int
}

func (r *result) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	if r.dropped == nil {
		r.dropped = map[string]int{}
	}
	r.dropped[reason] += n
}

// Reasons data points are not sent.
const (
	reasonScale      = "exponential histograms of scale below -4 (Prometheus native histograms go down to schema -4)"
	reasonOld        = "points older than one already sent for the same series (Prometheus refuses them)"
	reasonNoName     = "points of metrics whose name has no character a Prometheus name may hold"
	reasonSameMillis = "points with the timestamp (ms) of an earlier point of the same series but another value"
)

// settings are the translation options.
type settings struct {
	namespace           string
	externalLabels      map[string]string
	resourceToTelemetry bool
	suffixes            bool
	targetInfo          bool
	created             bool
	metadata            bool
	// instance is the instance label of resources without
	// service.instance.id or faas.instance.
	instance string
}

// maxState bounds the series the translator remembers; past it, it
// forgets them all (a new start time for delta streams).
const maxState = 100_000

// translator turns OTLP metrics into remote write series. It keeps, for
// the life of the process, the running totals of delta streams and the
// last timestamp sent per series. It is not safe for concurrent use: the
// exporter translates one export at a time.
type translator struct {
	settings
	streams map[string]*stream
	sent    map[string]sample // series key → last sample sent
	targets map[string]*target
	now     func() time.Time
}

// stream is the running state of one delta stream made cumulative.
type stream struct {
	start  uint64 // ns: the first delta's start
	last   uint64 // ns: the newest point added
	total  float64
	hist   *histState
	exp    pmetric.ExponentialHistogramDataPoint // the cumulative exponential histogram, if hasExp
	hasExp bool
	seen   map[uint64]bool // end timestamps added (bounded)
	bounds []float64
}

type histState struct {
	count  uint64
	sum    float64
	counts []uint64
}

func newTranslator(s settings) *translator {
	return &translator{settings: s, streams: map[string]*stream{}, sent: map[string]sample{}, targets: map[string]*target{}, now: time.Now}
}

// builder collects the series of one batch, merging samples of the same
// labels.
type builder struct {
	byKey map[string]*timeSeries
	order []string
	meta  map[string]metadata
	res   result
}

func seriesKey(ls []label) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.name)
		b.WriteByte(0xff)
		b.WriteString(l.value)
		b.WriteByte(0xfe)
	}
	return b.String()
}

func (b *builder) series(ls []label) *timeSeries {
	sort.Slice(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
	k := seriesKey(ls)
	ts := b.byKey[k]
	if ts == nil {
		ts = &timeSeries{labels: ls}
		b.byKey[k] = ts
		b.order = append(b.order, k)
	}
	return ts
}

// translate converts md. It updates the translator's state.
func (t *translator) translate(md pmetric.Metrics) result {
	if len(t.streams) > maxState {
		t.streams = map[string]*stream{}
	}
	if len(t.sent) > maxState {
		t.sent = map[string]sample{}
	}
	if len(t.targets) > maxState {
		t.targets = map[string]*target{}
	}
	b := &builder{byKey: map[string]*timeSeries{}, meta: map[string]metadata{}}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		t.resource(b, rms.At(i))
	}
	if t.targetInfo {
		t.addTargetInfo(b)
	}
	// Samples in time order, none older than what was sent; one per
	// millisecond.
	for _, k := range b.order {
		s := b.byKey[k]
		if len(s.samples) > 0 {
			sort.SliceStable(s.samples, func(i, j int) bool { return s.samples[i].ts < s.samples[j].ts })
			last, had := t.sent[k]
			kept := s.samples[:0]
			for _, x := range s.samples {
				switch {
				case had && x.ts < last.ts:
					b.res.drop(reasonOld, 1)
					continue
				case had && x.ts == last.ts && !sameValue(x.value, last.value):
					b.res.drop(reasonSameMillis, 1)
					continue
				}
				kept = append(kept, x)
				last, had = x, true
			}
			s.samples = kept
			if had {
				t.sent[k] = last
			}
		}
		if len(s.histograms) > 0 {
			sort.SliceStable(s.histograms, func(i, j int) bool { return s.histograms[i].ts < s.histograms[j].ts })
			last, had := t.sent[k]
			kept := s.histograms[:0]
			for _, h := range s.histograms {
				if had && h.ts < last.ts {
					b.res.drop(reasonOld, 1)
					continue
				}
				kept = append(kept, h)
				last, had = sample{ts: h.ts}, true
			}
			s.histograms = kept
			if had {
				t.sent[k] = last
			}
		}
		if len(s.samples) > 0 || len(s.histograms) > 0 {
			b.res.series = append(b.res.series, s)
		}
	}
	if t.metadata {
		fams := make([]string, 0, len(b.meta))
		for f := range b.meta {
			fams = append(fams, f)
		}
		sort.Strings(fams)
		for _, f := range fams {
			b.res.metadata = append(b.res.metadata, b.meta[f])
		}
	}
	return b.res
}

func sameValue(a, b float64) bool {
	return a == b || math.Float64bits(a) == math.Float64bits(b)
}

// resourceLabels are the labels every series of a resource gets besides
// its points' attributes: job and instance.
type resourceLabels struct {
	job, instance string
	attrs         pcommon.Map
	identity      string
}

func (t *translator) resource(b *builder, rm pmetric.ResourceMetrics) {
	attrs := rm.Resource().Attributes()
	rl := resourceLabels{attrs: attrs, instance: t.instance}
	if v, ok := attrs.Get("service.name"); ok {
		rl.job = v.AsString()
		if ns, ok := attrs.Get("service.namespace"); ok && ns.AsString() != "" {
			rl.job = ns.AsString() + "/" + rl.job
		}
	}
	if v, ok := attrs.Get("service.instance.id"); ok && v.AsString() != "" {
		rl.instance = v.AsString()
	} else if v, ok := attrs.Get("faas.instance"); ok && v.AsString() != "" {
		rl.instance = v.AsString()
	}
	rl.identity = mapKey(attrs)
	var latest uint64
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		sm := sms.At(i)
		ms := sm.Metrics()
		for j := range ms.Len() {
			if ts := t.metric(b, rl, sm.Scope().Name(), ms.At(j)); ts > latest {
				latest = ts
			}
		}
	}
	if t.targetInfo && latest > 0 {
		t.noteTarget(rl, latest)
	}
}

// target is what the translator keeps of one job and instance for
// target_info: the attributes of every resource seen with them (the
// first value of a key wins) and the labels of the target_info last sent.
type target struct {
	rl     resourceLabels
	attrs  pcommon.Map
	ts     uint64 // the newest point of the batch
	sent   []label
	inUse  bool // seen in the batch being translated
	hasAny bool
}

// noteTarget adds a resource's attributes (but those that make job and
// instance) to its target.
func (t *translator) noteTarget(rl resourceLabels, ts uint64) {
	key := rl.job + "\xff" + rl.instance
	tg := t.targets[key]
	if tg == nil {
		tg = &target{attrs: pcommon.NewMap()}
		t.targets[key] = tg
	}
	tg.rl = rl
	tg.inUse = true
	tg.ts = max(tg.ts, ts)
	rl.attrs.Range(func(k string, v pcommon.Value) bool {
		switch k {
		case "service.name", "service.namespace", "service.instance.id":
		default:
			if _, ok := tg.attrs.Get(k); !ok {
				tg.attrs.PutStr(k, v.AsString())
				tg.hasAny = true
			}
		}
		return true
	})
}

// addTargetInfo adds one target_info per job and instance of the batch:
// value 1, the attributes of the resources with that job and instance as
// labels. Lambda's resources of one environment (the function's, the
// platform's, the extension's own) often share job and instance; one
// series for them keeps target_info joins (on job, instance) working.
// When its labels change (a resource with more attributes came), the
// previous series gets a staleness marker.
func (t *translator) addTargetInfo(b *builder) {
	name := "target_info"
	if t.namespace != "" {
		name = t.namespace + "_" + name
	}
	keys := make([]string, 0, len(t.targets))
	for k, tg := range t.targets {
		if tg.inUse {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		tg := t.targets[k]
		tg.inUse = false
		if !tg.hasAny || (tg.rl.job == "" && tg.rl.instance == "") {
			continue
		}
		ts := millis(tg.ts)
		ls := t.labels(tg.rl, tg.attrs, false, nameLabel, name)
		s := b.series(ls)
		s.samples = append(s.samples, sample{value: 1, ts: ts})
		if tg.sent != nil && seriesKey(tg.sent) != seriesKey(s.labels) {
			old := b.series(append([]label(nil), tg.sent...))
			old.samples = append(old.samples, sample{value: staleNaN, ts: ts})
		}
		tg.sent = s.labels
	}
}

// labels makes the labels of one point: its attributes (after the
// resource's, with resource_to_telemetry_conversion), job and instance,
// the external labels where absent, then extra (name, value) pairs.
func (t *translator) labels(rl resourceLabels, attrs pcommon.Map, withResource bool, extra ...string) []label {
	type kv struct{ key, value string }
	var kvs []kv
	add := func(m pcommon.Map, skip map[string]bool) {
		m.Range(func(k string, v pcommon.Value) bool {
			if !skip[k] {
				kvs = append(kvs, kv{k, v.AsString()})
			}
			return true
		})
	}
	if withResource {
		own := map[string]bool{}
		attrs.Range(func(k string, _ pcommon.Value) bool { own[k] = true; return true })
		add(rl.attrs, own)
	}
	add(attrs, nil)
	// Keys that become the same label: values joined with ";", in the
	// order of the keys.
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].key < kvs[j].key })
	m := make(map[string]string, len(kvs)+4)
	for _, x := range kvs {
		n := labelName(x.key)
		if prev, ok := m[n]; ok && prev != "" {
			m[n] = prev + ";" + x.value
		} else {
			m[n] = x.value
		}
	}
	if rl.job != "" {
		m[jobLabel] = rl.job
	}
	if rl.instance != "" {
		m[instanceLabel] = rl.instance
	}
	for k, v := range t.externalLabels {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	ls := make([]label, 0, len(m))
	for k, v := range m {
		if v != "" && k != "" {
			// Prometheus refuses a request with a label that is not UTF-8.
			ls = append(ls, label{k, strings.ToValidUTF8(v, "\uFFFD")})
		}
	}
	return ls
}

// metric adds the series of one metric; it returns its newest timestamp.
func (t *translator) metric(b *builder, rl resourceLabels, scope string, m pmetric.Metric) uint64 {
	name := metricName(m, t.namespace, t.suffixes)
	if strings.Trim(name, "_") == "" {
		// Prometheus refuses a whole request for one such series.
		b.res.drop(reasonNoName, dataPoints(m))
		return 0
	}
	var latest uint64
	note := func(ts pcommon.Timestamp) {
		if uint64(ts) > latest {
			latest = uint64(ts)
		}
	}
	meta := func(typ int32) {
		if t.metadata {
			b.meta[name] = metadata{typ: typ, family: name, help: m.Description(), unit: m.Unit()}
		}
	}
	point := func(attrs pcommon.Map, extra ...string) []label {
		return t.labels(rl, attrs, t.resourceToTelemetry, append([]string{nameLabel, name}, extra...)...)
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		meta(typeGauge)
		dps := m.Gauge().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			note(dp.Timestamp())
			s := b.series(point(dp.Attributes()))
			s.samples = append(s.samples, sample{numberValue(dp), t.ms(dp.Timestamp())})
		}
	case pmetric.MetricTypeSum:
		sum := m.Sum()
		if sum.IsMonotonic() {
			meta(typeCounter)
		} else {
			meta(typeGauge)
		}
		delta := sum.AggregationTemporality() == pmetric.AggregationTemporalityDelta
		dps := sum.DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			note(dp.Timestamp())
			value, start := numberValue(dp), uint64(dp.StartTimestamp())
			if delta {
				st, add, emit := t.accumulate(rl, scope, m, dp.Attributes(), start, uint64(dp.Timestamp()))
				if add && !dp.Flags().NoRecordedValue() && !math.IsNaN(value) {
					st.total += value
				}
				if !emit {
					continue
				}
				value, start = st.total, st.start
				if dp.Flags().NoRecordedValue() {
					value = staleNaN
				}
			}
			ts := t.ms(dp.Timestamp())
			s := b.series(point(dp.Attributes()))
			s.samples = append(s.samples, sample{value, ts})
			if sum.IsMonotonic() {
				es := dp.Exemplars()
				for k := range es.Len() {
					s.exemplars = append(s.exemplars, t.exemplar(es.At(k)))
				}
			}
			if t.created && sum.IsMonotonic() && start > 0 {
				c := b.series(point(dp.Attributes(), nameLabel, createdName(name, t.suffixes)))
				c.samples = append(c.samples, sample{float64(start) / 1e9, ts})
			}
		}
	case pmetric.MetricTypeHistogram:
		meta(typeHistogram)
		h := m.Histogram()
		delta := h.AggregationTemporality() == pmetric.AggregationTemporalityDelta
		dps := h.DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			note(dp.Timestamp())
			bounds := dp.ExplicitBounds().AsRaw()
			counts := dp.BucketCounts().AsRaw()
			count, sum, start := dp.Count(), dp.Sum(), uint64(dp.StartTimestamp())
			if delta {
				st, add, emit := t.accumulate(rl, scope, m, dp.Attributes(), start, uint64(dp.Timestamp()))
				if add && (st.hist == nil || !equalBounds(st.bounds, bounds) || len(st.hist.counts) != len(counts)) {
					// New bucket bounds: a new cumulative series starts.
					st.hist = &histState{counts: make([]uint64, len(counts))}
					st.bounds = bounds
					if start > 0 {
						st.start = start
					} else {
						st.start = uint64(dp.Timestamp())
					}
				}
				if add && !dp.Flags().NoRecordedValue() {
					st.hist.count += count
					st.hist.sum += sum
					for k, c := range counts {
						st.hist.counts[k] += c
					}
				}
				if !emit || st.hist == nil {
					continue
				}
				count, sum, start = st.hist.count, st.hist.sum, st.start
				counts = append([]uint64(nil), st.hist.counts...)
			}
			t.histogram(b, point, name, dp, bounds, counts, count, sum, start)
		}
	case pmetric.MetricTypeExponentialHistogram:
		meta(typeHistogram)
		eh := m.ExponentialHistogram()
		dps := eh.DataPoints()
		delta := eh.AggregationTemporality() == pmetric.AggregationTemporalityDelta
		for i := range dps.Len() {
			dp := dps.At(i)
			if delta {
				st, add, emit := t.accumulate(rl, scope, m, dp.Attributes(), uint64(dp.StartTimestamp()), uint64(dp.Timestamp()))
				if add && !dp.Flags().NoRecordedValue() {
					if !st.hasExp {
						st.exp, st.hasExp = pmetric.NewExponentialHistogramDataPoint(), true
						dp.CopyTo(st.exp)
						st.exp.Attributes().Clear()
						st.exp.Exemplars().RemoveIf(func(pmetric.Exemplar) bool { return true })
					} else {
						mergeExponential(st.exp, dp)
					}
				}
				if !emit || !st.hasExp {
					continue
				}
				cum := pmetric.NewExponentialHistogramDataPoint()
				st.exp.CopyTo(cum)
				cum.SetTimestamp(dp.Timestamp())
				cum.SetStartTimestamp(pcommon.Timestamp(st.start))
				cum.SetFlags(dp.Flags())
				dp = cum
			}
			nh, ok := native(dp, t.ms(dp.Timestamp()))
			if !ok {
				b.res.drop(reasonScale, 1)
				continue
			}
			note(dp.Timestamp())
			s := b.series(point(dp.Attributes()))
			s.histograms = append(s.histograms, nh)
		}
	case pmetric.MetricTypeSummary:
		meta(typeSummary)
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			note(dp.Timestamp())
			ts := t.ms(dp.Timestamp())
			stale := dp.Flags().NoRecordedValue()
			v := func(x float64) float64 {
				if stale {
					return staleNaN
				}
				return x
			}
			qs := dp.QuantileValues()
			for k := range qs.Len() {
				q := qs.At(k)
				s := b.series(point(dp.Attributes(), quantileLabel, formatFloat(q.Quantile())))
				s.samples = append(s.samples, sample{v(q.Value()), ts})
			}
			s := b.series(point(dp.Attributes(), nameLabel, name+"_sum"))
			s.samples = append(s.samples, sample{v(dp.Sum()), ts})
			s = b.series(point(dp.Attributes(), nameLabel, name+"_count"))
			s.samples = append(s.samples, sample{v(float64(dp.Count())), ts})
			if t.created && dp.StartTimestamp() > 0 {
				c := b.series(point(dp.Attributes(), nameLabel, name+"_created"))
				c.samples = append(c.samples, sample{float64(dp.StartTimestamp()) / 1e9, ts})
			}
		}
	}
	return latest
}

// histogram adds the _bucket (cumulative, with le), _sum and _count
// series of an explicit-bucket histogram point.
func (t *translator) histogram(b *builder, point func(pcommon.Map, ...string) []label, name string, dp pmetric.HistogramDataPoint,
	bounds []float64, counts []uint64, count uint64, sum float64, start uint64) {
	ts := t.ms(dp.Timestamp())
	stale := dp.Flags().NoRecordedValue()
	v := func(x float64) float64 {
		if stale {
			return staleNaN
		}
		return x
	}
	var cum uint64
	buckets := make([]*timeSeries, 0, len(bounds)+1)
	for k, bound := range bounds {
		if k < len(counts) {
			cum += counts[k]
		}
		s := b.series(point(dp.Attributes(), nameLabel, name+"_bucket", leLabel, formatFloat(bound)))
		s.samples = append(s.samples, sample{v(float64(cum)), ts})
		buckets = append(buckets, s)
	}
	s := b.series(point(dp.Attributes(), nameLabel, name+"_bucket", leLabel, "+Inf"))
	s.samples = append(s.samples, sample{v(float64(count)), ts})
	buckets = append(buckets, s)
	// An exemplar goes with the first bucket whose bound holds its value.
	es := dp.Exemplars()
	for k := range es.Len() {
		ex := t.exemplar(es.At(k))
		i := sort.SearchFloat64s(bounds, ex.value)
		buckets[min(i, len(buckets)-1)].exemplars = append(buckets[min(i, len(buckets)-1)].exemplars, ex)
	}
	if dp.HasSum() {
		s = b.series(point(dp.Attributes(), nameLabel, name+"_sum"))
		s.samples = append(s.samples, sample{v(sum), ts})
	}
	s = b.series(point(dp.Attributes(), nameLabel, name+"_count"))
	s.samples = append(s.samples, sample{v(float64(count)), ts})
	if t.created && start > 0 {
		c := b.series(point(dp.Attributes(), nameLabel, name+"_created"))
		c.samples = append(c.samples, sample{float64(start) / 1e9, ts})
	}
}

// maxExemplarLabelRunes is Prometheus' limit on the runes of an
// exemplar's label names and values together.
const maxExemplarLabelRunes = 128

// exemplar converts an exemplar: trace_id and span_id, then its filtered
// attributes as labels while they fit Prometheus' limit.
func (t *translator) exemplar(e pmetric.Exemplar) exemplar {
	x := exemplar{ts: t.ms(e.Timestamp())}
	if e.ValueType() == pmetric.ExemplarValueTypeInt {
		x.value = float64(e.IntValue())
	} else {
		x.value = e.DoubleValue()
	}
	runes := 0
	add := func(name, value string) {
		n := len([]rune(name)) + len([]rune(value))
		if value == "" || runes+n > maxExemplarLabelRunes {
			return
		}
		runes += n
		x.labels = append(x.labels, label{name, strings.ToValidUTF8(value, "\uFFFD")})
	}
	if id := e.TraceID(); !id.IsEmpty() {
		add("trace_id", id.String())
	}
	if id := e.SpanID(); !id.IsEmpty() {
		add("span_id", id.String())
	}
	keys := make([]string, 0, e.FilteredAttributes().Len())
	e.FilteredAttributes().Range(func(k string, _ pcommon.Value) bool { keys = append(keys, k); return true })
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := e.FilteredAttributes().Get(k)
		if n := labelName(k); n != "trace_id" && n != "span_id" {
			add(n, v.AsString())
		}
	}
	return x
}

// accumulate finds the stream of a delta point and says whether the
// point is to be added to its total and whether the total is to be sent
// at the point's time. A point newer than all before is both. The newest
// point seen again (an export tried again) is sent, not added again. An
// older point not seen yet (data kept in the spill queue while newer data
// went out) is added to the total, which the next point sends: Prometheus
// refuses samples older than the newest of a series.
func (t *translator) accumulate(rl resourceLabels, scope string, m pmetric.Metric, attrs pcommon.Map, start, ts uint64) (st *stream, add, emit bool) {
	key := rl.identity + "\x00" + scope + "\x00" + m.Name() + "\x00" + m.Type().String() + "\x00" + mapKey(attrs)
	st = t.streams[key]
	if st == nil {
		if start == 0 {
			start = ts
		}
		st = &stream{start: start, seen: map[uint64]bool{}}
		t.streams[key] = st
	}
	switch {
	case st.seen[ts]:
		return st, false, ts == st.last
	case len(st.seen) >= 64:
		st.seen = map[uint64]bool{st.last: true}
	}
	st.seen[ts] = true
	if ts < st.last {
		return st, true, false
	}
	st.last = ts
	return st, true, true
}

// dataPoints counts the points of m.
func dataPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// createdName is the _created series of a counter: without _total.
func createdName(name string, suffixes bool) string {
	if suffixes {
		name = strings.TrimSuffix(name, "_total")
	}
	return name + "_created"
}

func equalBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mapKey is an identity of an attribute map, independent of order.
func mapKey(m pcommon.Map) string {
	keys := make([]string, 0, m.Len())
	m.Range(func(k string, _ pcommon.Value) bool { keys = append(keys, k); return true })
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, _ := m.Get(k)
		b.WriteString(k)
		b.WriteByte(0xff)
		b.WriteString(v.AsString())
		b.WriteByte(0xfe)
	}
	return b.String()
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.Flags().NoRecordedValue() {
		return staleNaN
	}
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// ms converts a timestamp to milliseconds; a point without one is now.
func (t *translator) ms(ts pcommon.Timestamp) int64 {
	if ts == 0 {
		return t.now().UnixMilli()
	}
	return millis(uint64(ts))
}

func millis(ns uint64) int64 { return int64(ns / 1e6) }

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
