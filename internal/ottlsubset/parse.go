package ottlsubset

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parser is a recursive-descent parser over the tokens of one condition or
// statement. It compiles as it parses: the result is closures over *Item.
type parser struct {
	ctx  Context
	src  string
	toks []token
	i    int
	// hints, when set, collects what Infer needs instead of resolving
	// paths and enums for a context (ctx is then empty).
	hints *hints
}

// operand is a parsed value: a literal, an enum, a list of literals, a
// path or a converter call.
type operand struct {
	pos   int
	what  string // for messages
	get   func(*Item) any
	lit   any  // the constant value when isLit
	isLit bool // literal, enum or list of literals
	enum  bool // an enum symbol (OTTL allows no math on enums)
	path  *pathRef
	conv  string // converter name when a converter call
}

func newParser(ctx Context, src string) (*parser, error) {
	if err := validContext(ctx); err != nil {
		return nil, err
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	depth := 0
	for _, t := range toks {
		switch t.kind {
		case tLParen, tLBrack:
			if depth++; depth > maxDepth {
				return nil, &Error{Src: src, Pos: t.pos, Msg: fmt.Sprintf("nesting deeper than %d is not supported", maxDepth)}
			}
		case tRParen, tRBrack:
			depth--
		}
	}
	return &parser{ctx: ctx, src: src, toks: toks}, nil
}

// maxDepth bounds nested parentheses and brackets, which keeps parsing
// time (a parenthesis is tried as math first, as OTTL does) small.
const maxDepth = 64

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &Error{Src: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	if t.kind == tEOF {
		return "end of input"
	}
	return strconv.Quote(t.text)
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.errAt(t.pos, "expected %s but found %s", what, describe(t))
	}
	return p.next(), nil
}

func (p *parser) expectEOF() error {
	if t := p.peek(); t.kind != tEOF {
		return p.unexpected(t)
	}
	return nil
}

// unexpected explains a token that cannot continue what was parsed.
func (p *parser) unexpected(t token) error {
	switch t.kind {
	case tAddSub, tMulDiv:
		return p.errAt(t.pos, "math expressions (%s) are not supported", t.text)
	case tCmp:
		return p.errAt(t.pos, "a comparison cannot be compared again (%s); use and/or", t.text)
	}
	return p.errAt(t.pos, "unexpected %s", describe(t))
}

// bexpr is a compiled boolean expression. lit is set when its value is
// known at parse time: OTTL folds such parts (true, false, comparisons of
// two literals and what and/or/not make of them), which decides whether
// the other parts are evaluated at all and so whether an evaluation error
// can surface.
type bexpr struct {
	f   func(*Item) bool
	lit *bool
}

func litExpr(v bool) bexpr { return bexpr{f: func(*Item) bool { return v }, lit: &v} }

// joinExprs folds and joins terms as OTTL does: with and (stop at false),
// a literal false makes the whole false and literal trues are dropped;
// with or, the converse. Evaluation stops at the first error.
func joinExprs(terms []bexpr, and bool) bexpr {
	var fs []func(*Item) bool
	for _, t := range terms {
		if t.lit != nil {
			if *t.lit != and { // false in an and, true in an or
				return litExpr(!and)
			}
			continue
		}
		fs = append(fs, t.f)
	}
	switch len(fs) {
	case 0:
		return litExpr(and)
	case 1:
		return bexpr{f: fs[0]}
	}
	return bexpr{f: func(it *Item) bool {
		for _, f := range fs {
			r := f(it)
			if it.err != nil {
				return false
			}
			if r != and {
				return r
			}
		}
		return and
	}}
}

// boolExpr: term ("or" term)*
func (p *parser) boolExpr() (bexpr, error) {
	left, err := p.term()
	if err != nil {
		return bexpr{}, err
	}
	terms := []bexpr{left}
	for p.peek().kind == tOr {
		p.next()
		right, err := p.term()
		if err != nil {
			return bexpr{}, err
		}
		terms = append(terms, right)
	}
	return joinExprs(terms, false), nil
}

// term: boolValue ("and" boolValue)*
func (p *parser) term() (bexpr, error) {
	left, err := p.boolValue()
	if err != nil {
		return bexpr{}, err
	}
	terms := []bexpr{left}
	for p.peek().kind == tAnd {
		p.next()
		right, err := p.boolValue()
		if err != nil {
			return bexpr{}, err
		}
		terms = append(terms, right)
	}
	return joinExprs(terms, true), nil
}

// boolValue: "not"? ( comparison | true | false | converter | "(" boolExpr ")" )
func (p *parser) boolValue() (bexpr, error) {
	negate := false
	if p.peek().kind == tNot {
		p.next()
		negate = true
	}
	b, err := p.boolPrimary()
	if err != nil {
		return bexpr{}, err
	}
	if !negate {
		return b, nil
	}
	if b.lit != nil {
		return litExpr(!*b.lit), nil
	}
	f := b.f
	return bexpr{f: func(it *Item) bool { return !f(it) }}, nil
}

func (p *parser) boolPrimary() (bexpr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		// As OTTL: a comparison whose left side is a parenthesized math
		// expression first, else a parenthesized condition.
		save := p.i
		b, cmpErr := p.comparison()
		if cmpErr == nil {
			return b, nil
		}
		p.i = save
		p.next()
		b, err := p.boolExpr()
		if err == nil {
			_, err = p.expect(tRParen, `")"`)
		}
		if err != nil {
			// Of the two readings, the one that got further explains
			// best what is wrong.
			var e1, e2 *Error
			if errors.As(cmpErr, &e1) && errors.As(err, &e2) && e1.Pos > e2.Pos {
				return bexpr{}, cmpErr
			}
			return bexpr{}, err
		}
		return b, nil
	case t.kind == tBool && p.peekAt(1).kind != tCmp:
		p.next()
		return litExpr(t.text == "true"), nil
	case t.kind == tNot:
		return bexpr{}, p.errAt(t.pos, `"not" cannot follow "not"; use parentheses`)
	}
	return p.comparison()
}

// comparison: value op value, or a boolean converter call alone.
func (p *parser) comparison() (bexpr, error) {
	left, err := p.operand()
	if err != nil {
		return bexpr{}, err
	}
	op := p.peek()
	if op.kind != tCmp {
		if left.conv != "" {
			if !boolConverters[left.conv] {
				return bexpr{}, p.errAt(left.pos, "converter %s does not return a boolean and cannot be a condition by itself", left.conv)
			}
			get := left.get
			return bexpr{f: func(it *Item) bool { b, _ := get(it).(bool); return b }}, nil
		}
		if op.kind == tEOF || op.kind == tAnd || op.kind == tOr || op.kind == tRParen {
			return bexpr{}, p.errAt(op.pos, "expected a comparison operator (==, !=, <, <=, >, >=) after %s", left.what)
		}
		return bexpr{}, p.unexpected(op)
	}
	p.next()
	right, err := p.operand()
	if err != nil {
		return bexpr{}, err
	}
	cmp := compareOps[op.text]
	if left.isLit && right.isLit {
		return litExpr(compare(left.lit, right.lit, cmp)), nil
	}
	lg, rg := left.get, right.get
	return bexpr{f: func(it *Item) bool {
		a := lg(it)
		if it.err != nil {
			return false
		}
		b := rg(it)
		if it.err != nil {
			return false
		}
		return compare(a, b, cmp)
	}}, nil
}

// adjacentName joins the name tokens (Uppercase/Lowercase) that follow each
// other without space from the current token on, and returns it with the
// number of tokens.
func (p *parser) adjacentName() (string, int) {
	var b strings.Builder
	n := 0
	end := -1
	for {
		t := p.peekAt(n)
		if (t.kind != tUpper && t.kind != tLower) || (n > 0 && t.pos != end) {
			break
		}
		b.WriteString(t.text)
		end = t.pos + len(t.text)
		n++
	}
	return b.String(), n
}

// operand parses a value: a math expression when it starts with a
// parenthesis or is a number literal or int path followed by an operator.
func (p *parser) operand() (*operand, error) {
	if p.peek().kind == tLParen {
		n, err := p.mathExpr(nil)
		if err != nil {
			return nil, err
		}
		return mathOperand(n), nil
	}
	o, err := p.operandNoMath()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tAddSub || t.kind == tMulDiv {
		n, ok := asNum(o)
		if !ok {
			return nil, p.errAt(t.pos, "math (%s) is supported only on int and float literals and int paths, not %s", t.text, o.what)
		}
		if n, err = p.mathExpr(&n); err != nil {
			return nil, err
		}
		return mathOperand(n), nil
	}
	return o, nil
}

func (p *parser) operandNoMath() (*operand, error) {
	t := p.peek()
	lit := func(v any, what string) (*operand, error) {
		p.next()
		return &operand{pos: t.pos, what: what, lit: v, isLit: true, get: func(*Item) any { return v }}, nil
	}
	switch t.kind {
	case tString:
		s, err := strconv.Unquote(t.text)
		if err != nil {
			return nil, p.errAt(t.pos, "invalid string literal %s: %v", t.text, err)
		}
		return lit(s, "string "+t.text)
	case tInt:
		if d := strings.TrimLeft(t.text, "+-"); len(d) > 1 && d[0] == '0' {
			// OTTL reads ints with base prefixes (010 is 8); refuse rather than guess.
			return nil, p.errAt(t.pos, "int literal %s with a leading zero is not supported", t.text)
		}
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errAt(t.pos, "invalid int literal %s: %v", t.text, err)
		}
		return lit(v, "int "+t.text)
	case tFloat:
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errAt(t.pos, "invalid float literal %s: %v", t.text, err)
		}
		return lit(v, "float "+t.text)
	case tBytes:
		b, err := hex.DecodeString(t.text[2:])
		if err != nil {
			return nil, p.errAt(t.pos, "invalid bytes literal %s: %v", t.text, err)
		}
		return lit(b, "bytes "+t.text)
	case tBool:
		return lit(t.text == "true", t.text)
	case tLBrack:
		return p.list()
	case tLBrace:
		return nil, p.errAt(t.pos, "map literals ({...}) are not supported")
	case tUpper, tLower:
		name, n := p.adjacentName()
		if after := p.peekAt(n); after.kind == tLParen {
			if t.kind == tLower {
				return nil, p.errAt(t.pos, "converter names must start with an uppercase letter but got %q; editors such as %s cannot be used as values", name, name)
			}
			return p.converter()
		}
		if t.kind == tLower && n == 1 {
			if t.text == "nil" {
				return lit(nil, "nil")
			}
			return p.pathOperand()
		}
		if t.kind == tUpper && n == 1 {
			p.next()
			v, ok := p.enum(t.text, t.pos)
			if !ok {
				if p.hints != nil {
					return nil, p.errAt(t.pos, "enum symbol %s is not known", t.text)
				}
				return nil, p.errAt(t.pos, "enum symbol %s is not known in the %s context; supported: %s", t.text, p.ctx, enumNames(p.ctx))
			}
			return &operand{pos: t.pos, what: t.text, lit: v, isLit: true, enum: true, get: func(*Item) any { return v }}, nil
		}
		return nil, p.errAt(t.pos, "unexpected name %q: neither a path, an enum nor a function call", name)
	}
	return nil, p.errAt(t.pos, "expected a value but found %s", describe(t))
}

// list parses [literal, ...]; lists of paths or calls are not supported.
func (p *parser) list() (*operand, error) {
	start := p.next()
	var vals []any
	for p.peek().kind != tRBrack {
		if len(vals) > 0 {
			if _, err := p.expect(tComma, `"," or "]"`); err != nil {
				return nil, err
			}
		}
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !o.isLit {
			return nil, p.errAt(o.pos, "lists may hold only literals in this subset, not %s", o.what)
		}
		vals = append(vals, o.lit)
	}
	p.next()
	if vals == nil {
		vals = []any{}
	}
	return &operand{pos: start.pos, what: "list", lit: vals, isLit: true, get: func(*Item) any { return vals }}, nil
}

// pathOperand parses name["key"].name... and resolves it for the context.
func (p *parser) pathOperand() (*operand, error) {
	start := p.peek().pos
	var segs []segment
	for {
		t, err := p.expect(tLower, "a path field name")
		if err != nil {
			return nil, err
		}
		s := segment{name: t.text, pos: t.pos}
		for p.peek().kind == tLBrack {
			lb := p.next()
			k := p.next()
			switch k.kind {
			case tString:
				v, err := strconv.Unquote(k.text)
				if err != nil {
					return nil, p.errAt(k.pos, "invalid string literal %s: %v", k.text, err)
				}
				s.keys = append(s.keys, pathKey{str: v, pos: lb.pos})
			case tInt:
				v, err := strconv.ParseInt(k.text, 10, 64)
				if err != nil {
					return nil, p.errAt(k.pos, "invalid int literal %s: %v", k.text, err)
				}
				s.keys = append(s.keys, pathKey{isInt: true, num: v, pos: lb.pos})
			default:
				return nil, p.errAt(k.pos, "expected a string or int key but found %s", describe(k))
			}
			if _, err := p.expect(tRBrack, `"]"`); err != nil {
				return nil, err
			}
		}
		segs = append(segs, s)
		if p.peek().kind != tDot {
			break
		}
		p.next()
	}
	text := strings.TrimSpace(p.src[start : p.toks[p.i-1].pos+len(p.toks[p.i-1].text)])
	if p.hints != nil {
		ref := p.hints.path(segs, start, text)
		return &operand{pos: start, what: "path " + text, path: ref, get: ref.get}, nil
	}
	ref, err := resolvePath(p.ctx, segs)
	if err != nil {
		return nil, &Error{Src: p.src, Pos: err.pos, Msg: err.msg}
	}
	ref.text = text
	return &operand{pos: start, what: "path " + text, path: ref, get: ref.get}, nil
}

// call is a parsed function call: name and arguments.
type call struct {
	name string
	pos  int
	ctx  Context
	args []*operand
}

func (p *parser) call() (*call, error) {
	t := p.peek()
	name, n := p.adjacentName()
	for range n {
		p.next()
	}
	c := &call{name: name, pos: t.pos, ctx: p.ctx}
	if _, err := p.expect(tLParen, `"("`); err != nil {
		return nil, err
	}
	for p.peek().kind != tRParen {
		if len(c.args) > 0 {
			if _, err := p.expect(tComma, `"," or ")"`); err != nil {
				return nil, err
			}
		}
		if a := p.peek(); a.kind == tLower && p.peekAt(1).kind == tEqual {
			return nil, p.errAt(a.pos, "named arguments (%s=...) are not supported; pass the arguments by position", a.text)
		}
		if a := p.peek(); a.kind == tUpper {
			if name, n := p.adjacentName(); p.peekAt(n).kind != tLParen {
				if _, ok := p.enum(name, a.pos); !ok {
					return nil, p.errAt(a.pos, "function-name arguments (%s) are not supported", name)
				}
			}
		}
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, o)
	}
	p.next()
	return c, nil
}

func (p *parser) converter() (*operand, error) {
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tLBrack {
		return nil, p.errAt(t.pos, "indexing the result of %s is not supported", c.name)
	}
	build, ok := converters[c.name]
	if !ok {
		return nil, p.errAt(c.pos, "unsupported function %q; supported converters: %s", c.name, converterNames())
	}
	if p.hints != nil && c.name == "IsRootSpan" {
		p.hints.rootSpan = append(p.hints.rootSpan, c.pos)
	}
	get, err := build(c)
	if err != nil {
		return nil, p.errAt(c.pos, "%s: %v", c.name, err)
	}
	return &operand{pos: c.pos, what: c.name + "(...)", get: get, conv: c.name}, nil
}

// statement: editor "(" args ")" ("where" boolExpr)?
func (p *parser) statement() (*Statement, error) {
	t := p.peek()
	if t.kind == tUpper {
		name, _ := p.adjacentName()
		return nil, p.errAt(t.pos, "editor names must start with a lowercase letter but got %q", name)
	}
	if t.kind != tLower {
		return nil, p.errAt(t.pos, "expected an editor such as set(...) but found %s", describe(t))
	}
	name, n := p.adjacentName()
	if p.peekAt(n).kind != tLParen {
		return nil, p.errAt(t.pos, "expected an editor call such as %s(...)", name)
	}
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	build, ok := editors[c.name]
	if !ok {
		return nil, p.errAt(c.pos, "unsupported function %q; supported editors: %s", c.name, editorNames())
	}
	run, err := build(c)
	if err != nil {
		return nil, p.errAt(c.pos, "%s: %v", c.name, err)
	}
	st := &Statement{run: run}
	if w := p.peek(); w.kind == tLower && w.text == "where" {
		p.next()
		b, err := p.boolExpr()
		if err != nil {
			return nil, err
		}
		st.where = &Condition{src: strings.TrimSpace(p.src[w.pos+len("where"):]), eval: b.f}
	} else if w.kind == tLBrack {
		return nil, p.errAt(w.pos, "only paths and converters may be indexed, not editors")
	}
	if err := p.expectEOF(); err != nil {
		return nil, err
	}
	return st, nil
}
