package ottlsubset

import (
	"fmt"
	"strings"
)

// tokKind is the kind of a lexical token. The kinds and the order in which
// they are tried are those of the OpenTelemetry Transformation Language's
// lexer, so that a text is cut into the same tokens.
type tokKind int

const (
	tEOF tokKind = iota
	tBytes
	tFloat
	tInt
	tString
	tNot
	tOr
	tAnd
	tCmp
	tAddSub
	tMulDiv
	tBool
	tEqual
	tLParen
	tRParen
	tLBrace
	tRBrace
	tColon
	tComma
	tDot
	tLBrack
	tRBrack
	tUpper // [A-Z][A-Z0-9_]*
	tLower // [a-z][a-z0-9_]*
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the source
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
func isWord(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
}

// lex cuts src into tokens. Whitespace is \t \n \f \r and space, as RE2's \s.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			i++
			continue
		}
		start := i
		kind, n := lexOne(src, i)
		if n == 0 {
			if c == '"' {
				return nil, &Error{Src: src, Pos: start, Msg: "unterminated string literal"}
			}
			return nil, &Error{Src: src, Pos: start, Msg: fmt.Sprintf("unexpected character %q", rune(c))}
		}
		toks = append(toks, token{kind: kind, text: src[i : i+n], pos: start})
		i += n
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

// lexOne returns the kind and length of the token at src[i:], or length 0.
func lexOne(src string, i int) (tokKind, int) {
	rest := src[i:]
	// Bytes: 0x[a-fA-F0-9]+
	if strings.HasPrefix(rest, "0x") {
		j := 2
		for j < len(rest) && isHex(rest[j]) {
			j++
		}
		if j > 2 {
			return tBytes, j
		}
	}
	if n := matchFloat(rest); n > 0 {
		return tFloat, n
	}
	if n := matchInt(rest); n > 0 {
		return tInt, n
	}
	if rest[0] == '"' {
		return tString, matchString(rest)
	}
	for _, kw := range []struct {
		word string
		kind tokKind
	}{{"not", tNot}, {"or", tOr}, {"and", tAnd}} {
		if matchWord(src, i, kw.word) {
			return kw.kind, len(kw.word)
		}
	}
	for _, op := range []string{"==", "!=", ">=", "<=", ">", "<"} {
		if strings.HasPrefix(rest, op) {
			return tCmp, len(op)
		}
	}
	switch rest[0] {
	case '+', '-':
		return tAddSub, 1
	case '/', '*':
		return tMulDiv, 1
	}
	if matchWord(src, i, "true") {
		return tBool, 4
	}
	if matchWord(src, i, "false") {
		return tBool, 5
	}
	switch rest[0] {
	case '=':
		return tEqual, 1
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case '{':
		return tLBrace, 1
	case '}':
		return tRBrace, 1
	case ':':
		return tColon, 1
	case ',':
		return tComma, 1
	case '.':
		return tDot, 1
	case '[':
		return tLBrack, 1
	case ']':
		return tRBrack, 1
	}
	if c := rest[0]; c >= 'A' && c <= 'Z' {
		j := 1
		for j < len(rest) && ((rest[j] >= 'A' && rest[j] <= 'Z') || isDigit(rest[j]) || rest[j] == '_') {
			j++
		}
		return tUpper, j
	}
	if c := rest[0]; c >= 'a' && c <= 'z' {
		j := 1
		for j < len(rest) && ((rest[j] >= 'a' && rest[j] <= 'z') || isDigit(rest[j]) || rest[j] == '_') {
			j++
		}
		return tLower, j
	}
	return tEOF, 0
}

// matchWord reports whether word is at src[i:] between word boundaries (\bword\b).
func matchWord(src string, i int, word string) bool {
	if !strings.HasPrefix(src[i:], word) {
		return false
	}
	if i > 0 && isWord(src[i-1]) {
		return false
	}
	end := i + len(word)
	return end == len(src) || !isWord(src[end])
}

// matchFloat matches [-+]?\d*\.\d+([eE][-+]?\d+)?
func matchFloat(s string) int {
	j := 0
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j >= len(s) || s[j] != '.' {
		return 0
	}
	j++
	k := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == k {
		return 0
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		e := j + 1
		if e < len(s) && (s[e] == '-' || s[e] == '+') {
			e++
		}
		d := e
		for e < len(s) && isDigit(s[e]) {
			e++
		}
		if e > d {
			j = e
		}
	}
	return j
}

// matchInt matches [-+]?\d+
func matchInt(s string) int {
	j := 0
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	d := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == d {
		return 0
	}
	return j
}

// matchString matches "(\\.|[^\\"])*" where . is any character but a newline.
func matchString(s string) int {
	j := 1
	for j < len(s) {
		switch s[j] {
		case '"':
			return j + 1
		case '\\':
			if j+1 >= len(s) || s[j+1] == '\n' {
				return 0
			}
			j += 2
		default:
			j++
		}
	}
	return 0
}
