package prometheusremotewriteexporter

import (
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Metric and label names, as the OpenTelemetry specification's
// "Prometheus and OpenMetrics Compatibility" and the collector's
// Prometheus translator make them.

// unitNames are the Prometheus words of UCUM units (the main unit, before
// a "/").
var unitNames = map[string]string{
	// time
	"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
	// bytes
	"By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
	"KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
	// SI
	"m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
	// other
	"Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}

// perUnitNames are the words of the unit after a "/".
var perUnitNames = map[string]string{
	"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year",
}

// metricNameChar reports whether r may appear in a metric name.
func metricNameChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == ':'
}

// labelNameChar reports whether r may appear in a label name.
func labelNameChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
}

// cleanUnit makes a unit word of name characters, "_" for the others,
// without repeated or leading underscores.
func cleanUnit(u string) string {
	return strings.TrimPrefix(collapse(strings.Map(func(r rune) rune {
		if metricNameChar(r) {
			return r
		}
		return '_'
	}, u)), "_")
}

// collapse replaces runs of "_" with one.
func collapse(s string) string {
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	return s
}

// unitSuffixes returns the main and per-unit words of a UCUM unit; an
// annotation ({request}) has none.
func unitSuffixes(unit string) (main, per string) {
	m, p, hasPer := strings.Cut(unit, "/")
	if m = strings.TrimSpace(m); m != "" && !strings.ContainsAny(m, "{}") {
		if w, ok := unitNames[m]; ok {
			m = w
		}
		main = cleanUnit(m)
	}
	if p = strings.TrimSpace(p); hasPer && p != "" && !strings.ContainsAny(p, "{}") {
		if w, ok := perUnitNames[p]; ok {
			p = w
		}
		per = cleanUnit(p)
	}
	return main, per
}

// metricName is the Prometheus name of m: with suffixes, the name's words
// joined by "_", then the unit's words, "_total" for a monotonic sum and
// "_ratio" for a gauge of unit "1"; without, the name with every character
// a metric name cannot hold replaced by "_". The namespace comes first;
// a name starting with a digit gets a "_" before it.
func metricName(m pmetric.Metric, namespace string, suffixes bool) string {
	if !suffixes {
		name := collapse(strings.Map(func(r rune) rune {
			if metricNameChar(r) {
				return r
			}
			return '_'
		}, m.Name()))
		if namespace != "" {
			return namespace + "_" + name
		}
		return digitPrefix(name)
	}
	words := strings.FieldsFunc(m.Name(), func(r rune) bool { return !metricNameChar(r) || r == '_' })
	main, per := unitSuffixes(m.Unit())
	if main != "" && !slices.Contains(words, main) {
		words = append(words, main)
	}
	if per != "" && !slices.Contains(words, per) {
		words = append(words, "per", per)
	}
	if m.Type() == pmetric.MetricTypeSum && m.Sum().IsMonotonic() {
		words = append(slices.DeleteFunc(words, func(w string) bool { return w == "total" }), "total")
	}
	if m.Unit() == "1" && m.Type() == pmetric.MetricTypeGauge {
		words = append(slices.DeleteFunc(words, func(w string) bool { return w == "ratio" }), "ratio")
	}
	if namespace != "" {
		words = append([]string{namespace}, words...)
	}
	return digitPrefix(strings.Join(words, "_"))
}

func digitPrefix(s string) string {
	if s != "" && '0' <= s[0] && s[0] <= '9' {
		return "_" + s
	}
	return s
}

// labelName is the Prometheus label of an attribute key: characters a
// label cannot hold become "_"; a key starting with a digit gets "key_"
// before it, one starting with a single "_" gets "key" ("__" is kept:
// reserved names).
func labelName(key string) string {
	if key == "" {
		return key
	}
	s := strings.Map(func(r rune) rune {
		if labelNameChar(r) {
			return r
		}
		return '_'
	}, key)
	switch {
	case '0' <= s[0] && s[0] <= '9':
		return "key_" + s
	case strings.HasPrefix(s, "_") && !strings.HasPrefix(s, "__"):
		return "key" + s
	}
	return s
}
