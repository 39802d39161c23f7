package processor

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Value reads a single typed value as the collector's configuration does:
// a YAML integer is an int64, a float a float64, true or false a bool,
// anything else (a quoted number too) a string. It reports a list or a
// mapping and an integer out of the int64 range; null gives nil.
func Value(d Decoder, n *yaml.Node, path string) (any, bool) {
	n = Deref(n)
	if IsNull(n) {
		return nil, true
	}
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "%s: expected a single value (a string, number or true/false), got %s", path, Describe(n))
		return nil, false
	}
	switch n.ShortTag() {
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			d.Errorf(n, "%s: %q is not a whole number from %d to %d", path, n.Value, int64(-1<<63), int64(1<<63-1))
			return nil, false
		}
		return v, true
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			d.Errorf(n, "%s: %q is not a number", path, n.Value)
			return nil, false
		}
		return v, true
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			d.Errorf(n, "%s: %q is not true or false", path, n.Value)
			return nil, false
		}
		return v, true
	}
	return n.Value, true
}

// FormatValue writes a value Value returned, for messages and summaries.
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return "null"
}
