// Package emfcheck parses CloudWatch Embedded Metric Format records by the
// rules of CloudWatch's EMF specification, for tests: a record that
// CloudWatch would not extract metrics from is an error that says why.
//
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package emfcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Limits of the specification (and of a Lambda log line).
const (
	MaxDirectiveMetrics = 100
	MaxSetDimensions    = 30
	MaxValues           = 100
	MaxNameLength       = 255
	MaxDimensionValue   = 1024
	MaxLineBytes        = 256 * 1024
)

// units are the values of MetricDefinition.Unit.
var units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
	"Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
	"Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
	"Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
	"Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// Record is a parsed EMF record.
type Record struct {
	Timestamp  int64
	Directives []Directive
	// Members are the root's members, decoded (numbers as float64).
	Members map[string]any
}

// Directive is one MetricDirective.
type Directive struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []Metric
}

// Metric is one MetricDefinition and the value its target member holds.
type Metric struct {
	Name              string
	Unit              string
	StorageResolution int
	// Values are the values: one for a number, several for an array.
	Values []float64
	// Stats is set when the value is a statistic set ({Max, Min, Count,
	// Sum}, with Values and Counts for a distribution), the form the
	// CloudWatch agent writes.
	Stats *Stats
}

// Stats is a statistic set value.
type Stats struct {
	Max, Min, Count, Sum float64
	Values, Counts       []float64
}

// Parse checks line (one log event, without its newline) and returns the
// record it holds.
func Parse(line []byte) (*Record, error) {
	if len(line)+1 > MaxLineBytes {
		return nil, fmt.Errorf("%d bytes: longer than a Lambda log line (%d)", len(line), MaxLineBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if root == nil {
		return nil, errors.New("not a JSON object: null")
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return nil, errors.New(`no "_aws" object`)
	}
	ts, ok := aws["Timestamp"].(float64)
	if !ok || ts != float64(int64(ts)) || ts <= 0 {
		return nil, fmt.Errorf("_aws.Timestamp: want milliseconds since the epoch (a number), got %v", aws["Timestamp"])
	}
	cwm, ok := aws["CloudWatchMetrics"].([]any)
	if !ok {
		return nil, errors.New("_aws.CloudWatchMetrics: not an array")
	}
	r := &Record{Timestamp: int64(ts), Members: root}
	for i, d := range cwm {
		dir, err := directive(d, root)
		if err != nil {
			return nil, fmt.Errorf("_aws.CloudWatchMetrics[%d]: %w", i, err)
		}
		r.Directives = append(r.Directives, dir)
	}
	return r, nil
}

func directive(v any, root map[string]any) (Directive, error) {
	var d Directive
	m, ok := v.(map[string]any)
	if !ok {
		return d, errors.New("not an object")
	}
	for k := range m {
		if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
			return d, fmt.Errorf("unknown member %q", k)
		}
	}
	ns, ok := m["Namespace"].(string)
	if !ok || ns == "" || len(ns) > MaxNameLength {
		return d, fmt.Errorf("Namespace: want a string of 1 to %d characters, got %v", MaxNameLength, m["Namespace"])
	}
	d.Namespace = ns
	sets, ok := m["Dimensions"].([]any)
	if !ok {
		return d, errors.New("Dimensions: not an array")
	}
	for i, s := range sets {
		names, ok := s.([]any)
		if !ok {
			return d, fmt.Errorf("Dimensions[%d]: not an array", i)
		}
		if len(names) > MaxSetDimensions {
			return d, fmt.Errorf("Dimensions[%d]: %d dimensions, more than %d", i, len(names), MaxSetDimensions)
		}
		var set []string
		for _, n := range names {
			name, ok := n.(string)
			if !ok {
				return d, fmt.Errorf("Dimensions[%d]: %v is not a string", i, n)
			}
			v, ok := root[name].(string)
			if !ok {
				return d, fmt.Errorf("Dimensions[%d]: dimension %q: the root has no string member of that name (got %v)", i, name, root[name])
			}
			if name == "" || len(name) > MaxNameLength || v == "" || len(v) > MaxDimensionValue {
				return d, fmt.Errorf("Dimensions[%d]: dimension %q: name of %d characters, value of %d; want 1 to %d and 1 to %d", i, name, len(name), len(v), MaxNameLength, MaxDimensionValue)
			}
			set = append(set, name)
		}
		d.Dimensions = append(d.Dimensions, set)
	}
	ms, ok := m["Metrics"].([]any)
	if !ok {
		return d, errors.New("Metrics: not an array")
	}
	if len(ms) > MaxDirectiveMetrics {
		return d, fmt.Errorf("Metrics: %d metrics, more than %d", len(ms), MaxDirectiveMetrics)
	}
	for i, x := range ms {
		def, ok := x.(map[string]any)
		if !ok {
			return d, fmt.Errorf("Metrics[%d]: not an object", i)
		}
		var mt Metric
		for k, v := range def {
			switch k {
			case "Name":
				s, ok := v.(string)
				if !ok || s == "" || len(s) > MaxNameLength {
					return d, fmt.Errorf("Metrics[%d].Name: want a string of 1 to %d characters, got %v", i, MaxNameLength, v)
				}
				mt.Name = s
			case "Unit":
				s, ok := v.(string)
				if !ok || !slices.Contains(units, s) {
					return d, fmt.Errorf("Metrics[%d].Unit: %v is not a CloudWatch unit", i, v)
				}
				mt.Unit = s
			case "StorageResolution":
				n, ok := v.(float64)
				if !ok || (n != 1 && n != 60) {
					return d, fmt.Errorf("Metrics[%d].StorageResolution: want 1 or 60, got %v", i, v)
				}
				mt.StorageResolution = int(n)
			default:
				return d, fmt.Errorf("Metrics[%d]: unknown member %q", i, k)
			}
		}
		if mt.Name == "" {
			return d, fmt.Errorf("Metrics[%d]: no Name", i)
		}
		if err := target(&mt, root[mt.Name]); err != nil {
			return d, fmt.Errorf("Metrics[%d] %q: %w", i, mt.Name, err)
		}
		d.Metrics = append(d.Metrics, mt)
	}
	return d, nil
}

// target reads the value of a metric's target member.
func target(mt *Metric, v any) error {
	switch x := v.(type) {
	case float64:
		mt.Values = []float64{x}
	case []any:
		vs, err := numbers(x)
		if err != nil {
			return err
		}
		mt.Values = vs
	case map[string]any:
		s := &Stats{}
		for _, k := range []string{"Max", "Min", "Count", "Sum"} {
			n, ok := x[k].(float64)
			if !ok {
				return fmt.Errorf("statistic set: %s is not a number", k)
			}
			switch k {
			case "Max":
				s.Max = n
			case "Min":
				s.Min = n
			case "Count":
				s.Count = n
			case "Sum":
				s.Sum = n
			}
		}
		if vs, ok := x["Values"]; ok {
			a, _ := vs.([]any)
			c, _ := x["Counts"].([]any)
			var err error
			if s.Values, err = numbers(a); err != nil {
				return fmt.Errorf("Values: %w", err)
			}
			if s.Counts, err = numbers(c); err != nil {
				return fmt.Errorf("Counts: %w", err)
			}
			if len(s.Values) != len(s.Counts) {
				return fmt.Errorf("%d Values but %d Counts", len(s.Values), len(s.Counts))
			}
		}
		if s.Max < s.Min {
			return fmt.Errorf("statistic set: Max %v below Min %v", s.Max, s.Min)
		}
		mt.Stats = s
	case nil:
		return errors.New("the root has no member of that name")
	default:
		return fmt.Errorf("the member is %T, not a number or an array of numbers", v)
	}
	return nil
}

func numbers(a []any) ([]float64, error) {
	if len(a) > MaxValues {
		return nil, fmt.Errorf("%d values, more than %d", len(a), MaxValues)
	}
	out := make([]float64, 0, len(a))
	for _, v := range a {
		n, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("%v is not a number", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// Lines parses every line of out that is an EMF record (a JSON object
// with an "_aws" member); other lines are skipped. It fails on the first
// record that breaks a rule.
func Lines(out []byte) ([]*Record, error) {
	var recs []*Record
	for i, line := range bytes.Split(out, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if !bytes.HasPrefix(line, []byte("{")) || !bytes.Contains(line, []byte(`"_aws"`)) {
			continue
		}
		r, err := Parse(line)
		if err != nil {
			return recs, fmt.Errorf("line %d: %w: %.300s", i+1, err, line)
		}
		recs = append(recs, r)
	}
	return recs, nil
}
