package ottlsubset

import "fmt"

// num is an arithmetic operand or result whose type is known at parse
// time: always an int64 (int literals, paths such as end_time_unix_nano)
// or always a float64 (float literals). Only such operands are accepted,
// so that evaluation cannot fail where OTTL would report an error (nil or
// non-number operands, division by zero).
type num struct {
	pos   int
	isInt bool
	i     func(*Item) int64
	f     func(*Item) float64
	lit   bool // a literal: its value is i(nil) or f(nil)
}

// asNum returns o as an arithmetic operand, or false.
func asNum(o *operand) (num, bool) {
	if o.enum {
		return num{}, false
	}
	switch v := o.lit.(type) {
	case int64:
		if o.isLit {
			return num{pos: o.pos, isInt: true, lit: true, i: func(*Item) int64 { return v }}, true
		}
	case float64:
		if o.isLit {
			return num{pos: o.pos, lit: true, f: func(*Item) float64 { return v }}, true
		}
	}
	if o.path != nil && o.path.geti != nil {
		return num{pos: o.pos, isInt: true, i: o.path.geti}, true
	}
	return num{}, false
}

// mathOperand wraps an arithmetic result as an operand.
func mathOperand(n num) *operand {
	o := &operand{pos: n.pos, what: "math expression"}
	if n.isInt {
		i := n.i
		o.get = func(it *Item) any { return i(it) }
	} else {
		f := n.f
		o.get = func(it *Item) any { return f(it) }
	}
	return o
}

// mathExpr parses terms joined by + and -, each a product of factors
// joined by * and /, as OTTL's grammar (left to right, * and / first).
// first, if not nil, is its already parsed first factor.
func (p *parser) mathExpr(first *num) (num, error) {
	left, err := p.mathTerm(first)
	if err != nil {
		return num{}, err
	}
	for p.peek().kind == tAddSub {
		op := p.next()
		right, err := p.mathTerm(nil)
		if err != nil {
			return num{}, err
		}
		if left, err = p.arith(left, op, right); err != nil {
			return num{}, err
		}
	}
	return left, nil
}

func (p *parser) mathTerm(first *num) (num, error) {
	var left num
	if first != nil {
		left = *first
	} else {
		var err error
		if left, err = p.mathFactor(); err != nil {
			return num{}, err
		}
	}
	for p.peek().kind == tMulDiv {
		op := p.next()
		right, err := p.mathFactor()
		if err != nil {
			return num{}, err
		}
		if left, err = p.arith(left, op, right); err != nil {
			return num{}, err
		}
	}
	return left, nil
}

// mathFactor is a number literal, an int path or a parenthesized math
// expression.
func (p *parser) mathFactor() (num, error) {
	if t := p.peek(); t.kind == tLParen {
		p.next()
		n, err := p.mathExpr(nil)
		if err != nil {
			return num{}, err
		}
		if _, err := p.expect(tRParen, `")"`); err != nil {
			return num{}, err
		}
		n.pos, n.lit = t.pos, false
		return n, nil
	}
	o, err := p.operandNoMath()
	if err != nil {
		return num{}, err
	}
	n, ok := asNum(o)
	if !ok {
		return num{}, p.errAt(o.pos, "math is supported only on int and float literals and int paths, not %s", o.what)
	}
	return n, nil
}

// arith combines two operands of the same type; mixing ints and floats,
// and dividing by anything but a non-zero literal, are refused.
func (p *parser) arith(a num, op token, b num) (num, error) {
	if a.isInt != b.isInt {
		return num{}, p.errAt(op.pos, "math mixing ints and floats is not supported (%s)", op.text)
	}
	if op.text == "/" {
		if !b.lit {
			return num{}, p.errAt(op.pos, "division is supported only by a non-zero literal")
		}
		if (b.isInt && b.i(nil) == 0) || (!b.isInt && b.f(nil) == 0) {
			return num{}, p.errAt(op.pos, "attempted to divide by 0")
		}
	}
	r := num{pos: a.pos, isInt: a.isInt}
	if a.isInt {
		x, y := a.i, b.i
		switch op.text {
		case "+":
			r.i = func(it *Item) int64 { return x(it) + y(it) }
		case "-":
			r.i = func(it *Item) int64 { return x(it) - y(it) }
		case "*":
			r.i = func(it *Item) int64 { return x(it) * y(it) }
		case "/":
			r.i = func(it *Item) int64 { return x(it) / y(it) }
		default:
			return num{}, fmt.Errorf("unknown operator %q", op.text)
		}
		return r, nil
	}
	x, y := a.f, b.f
	switch op.text {
	case "+":
		r.f = func(it *Item) float64 { return x(it) + y(it) }
	case "-":
		r.f = func(it *Item) float64 { return x(it) - y(it) }
	case "*":
		r.f = func(it *Item) float64 { return x(it) * y(it) }
	case "/":
		r.f = func(it *Item) float64 { return x(it) / y(it) }
	default:
		return num{}, fmt.Errorf("unknown operator %q", op.text)
	}
	return r, nil
}
