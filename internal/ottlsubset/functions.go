package ottlsubset

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// converters builds each supported converter from its parsed call.
var converters = map[string]func(*call) (func(*Item) any, error){
	"IsMatch": func(c *call) (func(*Item) any, error) {
		if err := arity(c, 2, "IsMatch(target, pattern)"); err != nil {
			return nil, err
		}
		pattern, err := stringLit(c.args[1], "pattern")
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("the pattern supplied to IsMatch is not a valid regexp pattern: %w", err)
		}
		target := c.args[0].get
		return func(it *Item) any {
			s, ok, err := stringLike(target(it))
			if err != nil {
				it.fail(fmt.Errorf("IsMatch: %w", err))
				return false
			}
			return ok && re.MatchString(s)
		}, nil
	},
	"IsRootSpan": func(c *call) (func(*Item) any, error) {
		if c.ctx != Span && c.ctx != "" { // "" while inferring the context
			return nil, fmt.Errorf("IsRootSpan is available only in the span context, not %s", c.ctx)
		}
		if err := arity(c, 0, "IsRootSpan()"); err != nil {
			return nil, err
		}
		return func(it *Item) any { return it.Span.ParentSpanID().IsEmpty() }, nil
	},
	"IsString": typeCheck(func(v any) bool { _, ok := v.(string); return ok }),
	"IsInt":    typeCheck(func(v any) bool { _, ok := v.(int64); return ok }),
	"IsDouble": typeCheck(func(v any) bool { _, ok := v.(float64); return ok }),
	"IsBool":   typeCheck(func(v any) bool { _, ok := v.(bool); return ok }),
	"IsMap": typeCheck(func(v any) bool {
		switch v.(type) {
		case pcommon.Map, map[string]any:
			return true
		}
		return false
	}),
	"IsList": typeCheck(func(v any) bool {
		switch v.(type) {
		case pcommon.Slice, []any:
			return true
		}
		return false
	}),
}

// boolConverters are the converters that return a bool and so may stand
// alone as a condition.
var boolConverters = map[string]bool{
	"IsMatch": true, "IsRootSpan": true, "IsString": true, "IsInt": true, "IsDouble": true,
	"IsBool": true, "IsMap": true, "IsList": true,
}

func typeCheck(is func(any) bool) func(*call) (func(*Item) any, error) {
	return func(c *call) (func(*Item) any, error) {
		if err := arity(c, 1, c.name+"(value)"); err != nil {
			return nil, err
		}
		get := c.args[0].get
		return func(it *Item) any { return is(get(it)) }, nil
	}
}

// editors builds each supported editor from its parsed call.
var editors = map[string]func(*call) (func(*Item) error, error){
	"set": func(c *call) (func(*Item) error, error) {
		if err := arity(c, 2, "set(target, value)"); err != nil {
			return nil, err
		}
		target := c.args[0]
		if target.path == nil || target.path.set == nil {
			if target.path != nil && target.path.m != nil {
				return nil, fmt.Errorf("setting a whole map (%s) is not supported; set its keys", target.path.text)
			}
			return nil, fmt.Errorf("the target must be a path that can be set, not %s", target.what)
		}
		set, value := target.path.set, c.args[1].get
		return func(it *Item) error {
			v := value(it)
			if it.err != nil {
				return nil // reported by Execute; the target is not changed
			}
			if v == nil { // OTTL's set leaves the target unchanged for nil
				return nil
			}
			return set(it, v)
		}, nil
	},
	"delete_key": func(c *call) (func(*Item) error, error) {
		if err := arity(c, 2, "delete_key(map, key)"); err != nil {
			return nil, err
		}
		m, err := mapArg(c.args[0])
		if err != nil {
			return nil, err
		}
		key, err := stringLit(c.args[1], "key")
		if err != nil {
			return nil, err
		}
		return func(it *Item) error { m(it).Remove(key); return nil }, nil
	},
	"delete_matching_keys": func(c *call) (func(*Item) error, error) {
		if err := arity(c, 2, "delete_matching_keys(map, pattern)"); err != nil {
			return nil, err
		}
		m, err := mapArg(c.args[0])
		if err != nil {
			return nil, err
		}
		re, err := regexArg(c.args[1], "delete_matching_keys")
		if err != nil {
			return nil, err
		}
		return func(it *Item) error {
			m(it).RemoveIf(func(k string, _ pcommon.Value) bool { return re.MatchString(k) })
			return nil
		}, nil
	},
	"keep_keys": func(c *call) (func(*Item) error, error) {
		if err := arity(c, 2, "keep_keys(map, [keys])"); err != nil {
			return nil, err
		}
		m, err := mapArg(c.args[0])
		if err != nil {
			return nil, err
		}
		keys, err := stringListLit(c.args[1], "keys")
		if err != nil {
			return nil, err
		}
		keep := make(map[string]bool, len(keys))
		for _, k := range keys {
			keep[k] = true
		}
		return func(it *Item) error {
			m(it).RemoveIf(func(k string, _ pcommon.Value) bool { return !keep[k] })
			return nil
		}, nil
	},
	"replace_pattern": func(c *call) (func(*Item) error, error) {
		if len(c.args) > 3 {
			return nil, errors.New("the optional function and format arguments are not supported; use replace_pattern(target, regex, replacement)")
		}
		if err := arity(c, 3, "replace_pattern(target, regex, replacement)"); err != nil {
			return nil, err
		}
		target := c.args[0]
		if target.path == nil || target.path.set == nil {
			return nil, fmt.Errorf("the target must be a path that can be set, not %s", target.what)
		}
		re, err := regexArg(c.args[1], "replace_pattern")
		if err != nil {
			return nil, err
		}
		repl, err := stringLit(c.args[2], "replacement")
		if err != nil {
			return nil, err
		}
		get, set := target.path.get, target.path.set
		return func(it *Item) error {
			s, ok := get(it).(string)
			if !ok || !re.MatchString(s) {
				return nil
			}
			return set(it, re.ReplaceAllString(s, repl))
		}, nil
	},
	"replace_all_patterns": func(c *call) (func(*Item) error, error) {
		if len(c.args) > 4 {
			return nil, errors.New("the optional function and format arguments are not supported; use replace_all_patterns(map, mode, regex, replacement)")
		}
		if err := arity(c, 4, `replace_all_patterns(map, "key"|"value", regex, replacement)`); err != nil {
			return nil, err
		}
		m, err := mapArg(c.args[0])
		if err != nil {
			return nil, err
		}
		mode, err := stringLit(c.args[1], "mode")
		if err != nil {
			return nil, err
		}
		if mode != "key" && mode != "value" {
			return nil, fmt.Errorf("invalid mode %v, must be either 'key' or 'value'", mode)
		}
		re, err := regexArg(c.args[2], "replace_all_patterns")
		if err != nil {
			return nil, err
		}
		repl, err := stringLit(c.args[3], "replacement")
		if err != nil {
			return nil, err
		}
		if mode == "value" {
			return func(it *Item) error {
				for _, v := range m(it).All() {
					if v.Type() == pcommon.ValueTypeStr && re.MatchString(v.Str()) {
						v.SetStr(re.ReplaceAllString(v.Str(), repl))
					}
				}
				return nil
			}, nil
		}
		return func(it *Item) error {
			attrs := m(it)
			updated := pcommon.NewMap()
			updated.EnsureCapacity(attrs.Len())
			for k, v := range attrs.All() {
				if re.MatchString(k) {
					k = re.ReplaceAllString(k, repl)
				}
				v.CopyTo(updated.PutEmpty(k))
			}
			updated.MoveTo(attrs)
			return nil
		}, nil
	},
	"truncate_all": func(c *call) (func(*Item) error, error) {
		if err := arity(c, 2, "truncate_all(map, limit)"); err != nil {
			return nil, err
		}
		m, err := mapArg(c.args[0])
		if err != nil {
			return nil, err
		}
		limit, err := intLit(c.args[1], "limit")
		if err != nil {
			return nil, err
		}
		if limit < 0 {
			return nil, fmt.Errorf("invalid limit for truncate_all function, %d cannot be negative", limit)
		}
		return func(it *Item) error {
			for _, v := range m(it).All() {
				if s := v.Str(); int64(len(s)) > limit {
					v.SetStr(s[:limit])
				}
			}
			return nil
		}, nil
	},
	"limit": func(c *call) (func(*Item) error, error) {
		if err := arity(c, 3, "limit(map, limit, [priority_keys])"); err != nil {
			return nil, err
		}
		m, err := mapArg(c.args[0])
		if err != nil {
			return nil, err
		}
		limit, err := intLit(c.args[1], "limit")
		if err != nil {
			return nil, err
		}
		prio, err := stringListLit(c.args[2], "priority_keys")
		if err != nil {
			return nil, err
		}
		if limit < 0 {
			return nil, fmt.Errorf("invalid limit for limit function, %d cannot be negative", limit)
		}
		if limit < int64(len(prio)) {
			return nil, fmt.Errorf("invalid limit for limit function, %d cannot be less than number of priority attributes %d", limit, len(prio))
		}
		keep := make(map[string]bool, len(prio))
		for _, k := range prio {
			keep[k] = true
		}
		return func(it *Item) error {
			attrs := m(it)
			if int64(attrs.Len()) <= limit {
				return nil
			}
			count := int64(0)
			for _, k := range prio {
				if _, ok := attrs.Get(k); ok {
					count++
				}
			}
			attrs.RemoveIf(func(k string, _ pcommon.Value) bool {
				if keep[k] {
					return false
				}
				if count < limit {
					count++
					return false
				}
				return true
			})
			return nil
		}, nil
	},
}

func arity(c *call, n int, usage string) error {
	if len(c.args) != n {
		return fmt.Errorf("expected %d arguments but got %d; usage: %s", n, len(c.args), usage)
	}
	return nil
}

func mapArg(o *operand) (func(*Item) pcommon.Map, error) {
	if o.path == nil || o.path.m == nil {
		return nil, fmt.Errorf("the first argument must be an attribute map path such as attributes or resource.attributes, not %s", o.what)
	}
	return o.path.m, nil
}

func stringLit(o *operand, name string) (string, error) {
	s, ok := o.lit.(string)
	if !o.isLit || !ok {
		return "", fmt.Errorf("%s must be a string literal, not %s", name, o.what)
	}
	return s, nil
}

func intLit(o *operand, name string) (int64, error) {
	i, ok := o.lit.(int64)
	if !o.isLit || !ok {
		return 0, fmt.Errorf("%s must be an int literal, not %s", name, o.what)
	}
	return i, nil
}

func stringListLit(o *operand, name string) ([]string, error) {
	l, ok := o.lit.([]any)
	if !o.isLit || !ok {
		return nil, fmt.Errorf("%s must be a list of string literals, not %s", name, o.what)
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s must be a list of string literals, but holds %v", name, v)
		}
		out = append(out, s)
	}
	return out, nil
}

func regexArg(o *operand, fn string) (*regexp.Regexp, error) {
	s, err := stringLit(o, "the pattern")
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("the regex pattern supplied to %s is not a valid pattern: %w", fn, err)
	}
	return re, nil
}

func sortedKeys[V any](m map[string]V) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func converterNames() string { return sortedKeys(converters) }
func editorNames() string    { return sortedKeys(editors) }
