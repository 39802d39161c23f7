package ottlsubset

import (
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// inferOrder lists the contexts from the lowest (most specific) to the
// highest, the order in which OTTL's context inference prefers them.
var inferOrder = []Context{Log, DataPoint, Metric, SpanEvent, Span, Scope, Resource}

// use is where something was written: in which text, at which offset.
type use struct {
	src  string
	pos  int
	text string
	ctx  Context // the context a path names (prefixed paths)
}

// hints collects, while parsing without a context, the context prefixes
// of the paths, the paths without one, the enums and IsRootSpan calls.
type hints struct {
	src      string
	prefixed []use
	bare     []use
	enums    []use
	rootSpan []int
}

// path records one path and returns a stand-in that every editor and
// converter accepts, so that the rest of the text is checked too.
func (h *hints) path(segs []segment, start int, text string) *pathRef {
	u := use{src: h.src, pos: start, text: text}
	if len(segs) > 1 && len(segs[0].keys) == 0 && isContextName(segs[0].name) {
		u.ctx = Context(segs[0].name)
		h.prefixed = append(h.prefixed, u)
	} else {
		h.bare = append(h.bare, u)
	}
	empty := pcommon.NewMap()
	return &pathRef{
		text: text,
		get:  func(*Item) any { return nil },
		geti: func(*Item) int64 { return 0 },
		set:  func(*Item, any) error { return nil },
		m:    func(*Item) pcommon.Map { return empty },
	}
}

func isContextName(s string) bool {
	for _, c := range inferOrder {
		if string(c) == s {
			return true
		}
	}
	return false
}

// enum resolves an enum symbol for the parser's context, or, while
// inferring, in any context (the choice is checked once it is made).
func (p *parser) enum(name string, pos int) (int64, bool) {
	if p.hints == nil {
		return enumValue(p.ctx, name)
	}
	for _, ctx := range []Context{Span, Log, Metric} {
		if v, ok := enumValue(ctx, name); ok {
			p.hints.enums = append(p.hints.enums, use{src: p.src, pos: pos, text: name})
			return v, true
		}
	}
	return 0, false
}

// Infer returns the context of a group of conditions and statements
// whose paths all start with the name of a context (span.name,
// resource.attributes["k"], log.body): the lowest context named, of
// those in allowed (the contexts of one signal). IsRootSpan with only
// resource or scope paths makes it span, as in OTTL. Refused, with the
// text and position: a path without a context prefix (OTTL cannot infer
// from it either; name the context of the group instead), a context not
// in allowed, a group without any path, and an enum or IsRootSpan that
// the inferred context does not have (OTTL would look for another
// context; this subset does not).
func Infer(allowed []Context, conditions, statements []string) (Context, error) {
	var all hints
	collect := func(src string, statement bool) error {
		toks, err := lex(src)
		if err != nil {
			return err
		}
		p := &parser{src: src, toks: toks, hints: &hints{src: src}}
		if statement {
			_, err = p.statement()
		} else {
			if _, err = p.boolExpr(); err == nil {
				err = p.expectEOF()
			}
		}
		if err != nil {
			return err
		}
		all.prefixed = append(all.prefixed, p.hints.prefixed...)
		all.bare = append(all.bare, p.hints.bare...)
		all.enums = append(all.enums, p.hints.enums...)
		for _, pos := range p.hints.rootSpan {
			all.enums = append(all.enums, use{src: src, pos: pos, text: "IsRootSpan"})
		}
		return nil
	}
	for _, s := range conditions {
		if err := collect(s, false); err != nil {
			return "", err
		}
	}
	for _, s := range statements {
		if err := collect(s, true); err != nil {
			return "", err
		}
	}
	names := contextList(allowed)
	for _, u := range all.bare {
		return "", &Error{Src: u.src, Pos: u.pos, Msg: fmt.Sprintf(
			"path %s does not start with a context (%s), so its context cannot be inferred; write it with one, e.g. %s.%s, or set context in a group of its own",
			u.text, names, itemContext(allowed), u.text)}
	}
	inferred, rank := Context(""), len(inferOrder)
	for _, u := range all.prefixed {
		if !hasContext(allowed, u.ctx) {
			return "", &Error{Src: u.src, Pos: u.pos, Msg: fmt.Sprintf("path %s: the %s context is not available here; available: %s", u.text, u.ctx, names)}
		}
		if r := rankOf(u.ctx); r < rank {
			inferred, rank = u.ctx, r
		}
	}
	if inferred == "" {
		src := strings.Join(append(append([]string{}, conditions...), statements...), "; ")
		return "", &Error{Src: src, Msg: fmt.Sprintf("cannot infer the context: no path names one (%s); set context in a group", names)}
	}
	for _, u := range all.enums {
		if u.text != "IsRootSpan" {
			continue
		}
		if (inferred == Resource || inferred == Scope) && hasContext(allowed, Span) {
			inferred = Span
		}
		if inferred != Span {
			return "", &Error{Src: u.src, Pos: u.pos, Msg: fmt.Sprintf("IsRootSpan is available only in the span context, but the paths make it %s; put it in a group with context: span", inferred)}
		}
	}
	for _, u := range all.enums {
		if u.text == "IsRootSpan" {
			continue
		}
		if _, ok := enumValue(inferred, u.text); !ok {
			return "", &Error{Src: u.src, Pos: u.pos, Msg: fmt.Sprintf("enum symbol %s is not available in the %s context that the paths make it; supported: %s", u.text, inferred, enumNames(inferred))}
		}
	}
	return inferred, nil
}

func hasContext(list []Context, c Context) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func rankOf(c Context) int {
	for i, x := range inferOrder {
		if x == c {
			return i
		}
	}
	return len(inferOrder)
}

func contextList(list []Context) string {
	s := make([]string, len(list))
	for i, c := range list {
		s[i] = string(c)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// itemContext is the context of a signal's items among allowed (span,
// metric or log), for examples in messages.
func itemContext(allowed []Context) Context {
	best, rank := Span, -1
	for _, c := range allowed {
		if r := rankOf(c); c != Resource && c != Scope && r > rank {
			best, rank = c, r
		}
	}
	return best
}
