package awsemfexporter

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
)

// directive is one MetricDirective of a record.
type directive struct {
	dims    [][]string
	metrics []entry
}

// encodeGroup writes g as records: at most MaxMetricsPerDirective metrics
// each, and no record longer than MaxRecordBytes.
func (e *Exporter) encodeGroup(g *group) [][]byte {
	var out [][]byte
	for start := 0; start < len(g.entries); start += MaxMetricsPerDirective {
		out = append(out, e.encodeChunk(g, g.entries[start:min(start+MaxMetricsPerDirective, len(g.entries))])...)
	}
	return out
}

// encodeChunk writes the metrics ents of g as one record, or as several
// if one would be too long.
func (e *Exporter) encodeChunk(g *group, ents []entry) [][]byte {
	labels, names := e.recordLabels(g, ents)
	var dirs []directive
	if !e.cfg.DisableMetricExtraction {
		dirs = e.directives(g, labels, names, ents)
	}
	rec := e.encode(g, labels, names, ents, dirs)
	if len(rec)+1 <= MaxRecordBytes {
		return [][]byte{rec}
	}
	if len(ents) > 1 {
		half := len(ents) / 2
		return append(e.encodeChunk(g, ents[:half]), e.encodeChunk(g, ents[half:])...)
	}
	e.warnOnce("size "+ents[0].name, "awsemf: a record is longer than a Lambda log line can be (its attributes are too long); it is not written",
		"exporter", e.name, "metric", ents[0].name, "bytes", len(rec), "limit", MaxRecordBytes)
	return nil
}

// CloudWatch's length limits of names and dimension values.
const (
	maxName           = 255
	maxDimensionName  = 255
	maxDimensionValue = 1024
)

// reserved are the top-level members the format itself uses.
var reserved = map[string]bool{"_aws": true, "Version": true, "Timestamp": true, "CloudWatchMetrics": true}

// recordLabels are g's attributes that can be members of a record of
// ents: not a metric's name, not a member the format uses.
func (e *Exporter) recordLabels(g *group, ents []entry) (map[string]string, []string) {
	drop := map[string]bool{}
	for _, k := range g.names {
		if reserved[k] {
			drop[k] = true
			e.warnOnce("reserved "+k, "awsemf: an attribute has the name of a member of the format; it is left out of the records", "exporter", e.name, "attribute", k)
		}
	}
	for _, en := range ents {
		if _, ok := g.labels[en.name]; ok {
			drop[en.name] = true
			e.warnOnce("clash "+en.name, "awsemf: an attribute has the name of a metric in the same record; the attribute is left out", "exporter", e.name, "attribute", en.name)
		}
	}
	if len(drop) == 0 {
		return g.labels, g.names
	}
	labels := make(map[string]string, len(g.labels))
	var names []string
	for _, k := range g.names {
		if !drop[k] {
			labels[k] = g.labels[k]
			names = append(names, k)
		}
	}
	return labels, names
}

// directives makes the MetricDirectives of a record of ents. A metric
// whose name CloudWatch would refuse (not 1 to 255 characters) stays a
// member of the record only.
func (e *Exporter) directives(g *group, labels map[string]string, names []string, ents []entry) []directive {
	if g.namespace == "" || len(g.namespace) > maxName {
		return nil
	}
	valid := ents[:0:0]
	for _, en := range ents {
		if len(en.name) == 0 || len(en.name) > maxName {
			e.warnOnce("name "+en.name, "awsemf: a metric whose name is not 1 to 255 characters is not a CloudWatch metric; its value stays in the log record",
				"exporter", e.name, "metric", en.name)
			continue
		}
		valid = append(valid, en)
	}
	if ents = valid; len(ents) == 0 {
		return nil
	}
	rollup := dimensionRollup(e.cfg.DimensionRollup, labels, names)
	if len(e.decls) == 0 {
		dims := [][]string{names}
		_, hasLib := labels[OTelLibDimension]
		single := len(names) <= 1 || (len(names) == 2 && hasLib)
		if len(rollup) > 0 && single && e.cfg.DimensionRollup != NoDimensionRollup {
			dims = nil // the rollup holds the same set
		}
		dims = e.checkDims(append(dims, rollup...), ents, labels)
		if len(dims) == 0 {
			return nil
		}
		return []directive{{dims: dims, metrics: ents}}
	}
	// Declarations: those whose label matchers match the attributes; each
	// metric goes with the declarations whose selectors match its name.
	var matching []int
	for i, d := range e.decls {
		if d.matchesLabels(labels) {
			matching = append(matching, i)
		}
	}
	var dirs []directive
	byDecls := map[string]int{}
	for _, en := range ents {
		var idx []int
		for _, i := range matching {
			if e.decls[i].matchesName(en.name) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue // in the record's members, not a CloudWatch metric
		}
		key := strconv.Quote(slicesKey(idx))
		if at, ok := byDecls[key]; ok {
			dirs[at].metrics = append(dirs[at].metrics, en)
			continue
		}
		var dims [][]string
		for _, i := range idx {
			for _, set := range e.decls[i].dims {
				if hasAll(labels, set) {
					dims = append(dims, set)
				}
			}
		}
		dims = e.checkDims(dedup(append(dims, rollup...)), []entry{en}, labels)
		if len(dims) == 0 {
			continue
		}
		byDecls[key] = len(dirs)
		dirs = append(dirs, directive{dims: dims, metrics: []entry{en}})
	}
	return dirs
}

// checkDims leaves out dimension sets CloudWatch would refuse: more than
// MaxDimensionsPerSet dimensions, or a dimension whose name is not 1 to
// 255 characters or whose value is not 1 to 1024.
func (e *Exporter) checkDims(dims [][]string, ents []entry, labels map[string]string) [][]string {
	out := dims[:0:0]
	for _, set := range dims {
		if len(set) > MaxDimensionsPerSet {
			e.warnOnce("dims "+ents[0].name, "awsemf: a dimension set with more dimensions than CloudWatch takes is left out (the values stay in the log record); choose dimensions with metric_declarations or dimension_rollup_option",
				"exporter", e.name, "metric", ents[0].name, "dimensions", len(set), "limit", MaxDimensionsPerSet)
			continue
		}
		ok := true
		for _, k := range set {
			if v := labels[k]; len(k) == 0 || len(k) > maxDimensionName || len(v) == 0 || len(v) > maxDimensionValue {
				e.warnOnce("dimval "+k, "awsemf: dimension sets with an attribute whose name is not 1 to 255 characters, or whose value is not 1 to 1024, are left out (CloudWatch refuses them; the values stay in the log record)",
					"exporter", e.name, "metric", ents[0].name, "attribute", k, "valueLength", len(v))
				ok = false
				break
			}
		}
		if ok {
			out = append(out, set)
		}
	}
	return out
}

func slicesKey(idx []int) string {
	b := make([]byte, 0, 4*len(idx))
	for _, i := range idx {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
	}
	return string(b)
}

func hasAll(labels map[string]string, set []string) bool {
	for _, k := range set {
		if _, ok := labels[k]; !ok {
			return false
		}
	}
	return true
}

func dedup(dims [][]string) [][]string {
	seen := map[string]bool{}
	out := dims[:0:0]
	for _, d := range dims {
		if k := joinKey(d); !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// dimensionRollup returns the rolled-up dimension sets of a data point's
// attributes: with ZeroAndSingleDimensionRollup the set without
// attributes (when there are some) and one set per attribute; with
// SingleDimensionRollupOnly the sets per attribute. OTelLib, when
// present, is in every set.
func dimensionRollup(opt Rollup, labels map[string]string, names []string) [][]string {
	var zero []string
	if _, ok := labels[OTelLibDimension]; ok {
		zero = []string{OTelLibDimension}
	} else {
		zero = []string{}
	}
	var others []string
	for _, k := range names {
		if k != OTelLibDimension {
			others = append(others, k)
		}
	}
	var out [][]string
	if opt == ZeroAndSingleDimensionRollup && len(others) > 0 {
		out = append(out, zero)
	}
	if opt == ZeroAndSingleDimensionRollup || opt == SingleDimensionRollupOnly {
		for _, k := range others {
			set := append(append([]string{}, zero...), k)
			sort.Strings(set)
			out = append(out, set)
		}
	}
	return out
}

func (d *declaration) matchesLabels(labels map[string]string) bool {
	if len(d.matchers) == 0 {
		return true
	}
	for _, m := range d.matchers {
		var b []byte
		for i, n := range m.names {
			if i > 0 {
				b = append(b, m.sep...)
			}
			b = append(b, labels[n]...)
		}
		if m.re.Match(b) {
			return true
		}
	}
	return false
}

func (d *declaration) matchesName(name string) bool {
	for _, re := range d.selectors {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// encode writes one record as compact JSON.
func (e *Exporter) encode(g *group, labels map[string]string, names []string, ents []entry, dirs []directive) []byte {
	b := make([]byte, 0, 256+64*len(ents))
	b = append(b, '{')
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	if len(dirs) > 0 && e.cfg.Version != "0" {
		sep()
		b = append(b, `"_aws":{"Timestamp":`...)
		b = strconv.AppendInt(b, g.tsMs, 10)
		b = append(b, `,"CloudWatchMetrics":`...)
		b = appendDirectives(b, g.namespace, dirs)
		b = append(b, `},"Version":"1"`...)
	}
	if e.cfg.Version == "0" {
		sep()
		b = append(b, `"Timestamp":"`...)
		b = strconv.AppendInt(b, g.tsMs, 10)
		b = append(b, '"')
		if len(dirs) > 0 {
			b = append(b, `,"Version":"0","CloudWatchMetrics":`...)
			b = appendDirectives(b, g.namespace, dirs)
		}
	}
	inDims := map[string]bool{}
	for _, d := range dirs {
		for _, set := range d.dims {
			for _, k := range set {
				inDims[k] = true
			}
		}
	}
	for _, k := range names {
		sep()
		b = appendString(b, k)
		b = append(b, ':')
		v := labels[k]
		if slices.Contains(e.cfg.ParseJSONEncodedAttrValues, k) && !inDims[k] && json.Valid([]byte(v)) {
			b = appendCompact(b, v)
			continue
		}
		b = appendString(b, v)
	}
	for _, en := range ents {
		sep()
		b = appendString(b, en.name)
		b = append(b, ':')
		b = appendValue(b, en.val)
	}
	return append(b, '}')
}

func appendDirectives(b []byte, ns string, dirs []directive) []byte {
	b = append(b, '[')
	for i, d := range dirs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Namespace":`...)
		b = appendString(b, ns)
		b = append(b, `,"Dimensions":[`...)
		for j, set := range d.dims {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for k, n := range set {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendString(b, n)
			}
			b = append(b, ']')
		}
		b = append(b, `],"Metrics":[`...)
		for j, m := range d.metrics {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Name":`...)
			b = appendString(b, m.name)
			if m.unit != "" {
				b = append(b, `,"Unit":`...)
				b = appendString(b, m.unit)
			}
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

func appendValue(b []byte, v value) []byte {
	switch v.kind {
	case kindNumber:
		return appendNumber(b, v.num)
	case kindHist:
		b = append(b, `{"Values":`...)
		b = appendNumbers(b, v.values)
		b = append(b, `,"Counts":`...)
		b = appendNumbers(b, v.counts)
		b = append(b, ',')
	default:
		b = append(b, '{')
	}
	b = append(b, `"Max":`...)
	b = appendNumber(b, v.max)
	b = append(b, `,"Min":`...)
	b = appendNumber(b, v.min)
	b = append(b, `,"Count":`...)
	b = strconv.AppendUint(b, v.count, 10)
	b = append(b, `,"Sum":`...)
	b = appendNumber(b, v.sum)
	return append(b, '}')
}

func appendNumbers(b []byte, vs []float64) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNumber(b, v)
	}
	return append(b, ']')
}

// appendNumber writes v as a JSON number, as encoding/json does.
func appendNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, '0') // filtered before; never invalid JSON
	}
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// appendCompact writes the JSON text s without insignificant space.
func appendCompact(b []byte, s string) []byte {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return appendString(b, s)
	}
	q, err := json.Marshal(v)
	if err != nil {
		return appendString(b, s)
	}
	return append(b, q...)
}
