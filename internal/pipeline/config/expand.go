package config

import (
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// envNameRE is what the collector accepts as an environment variable name.
var envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) }) // compiled at first use: start-up is cold start

// expandTree expands ${...} references in every scalar value below n (not
// in mapping keys). Each node is expanded once, even when aliased.
func (p *parser) expandTree(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			p.expandTree(c, seen)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			p.expandTree(n.Content[i], seen)
		}
	case yaml.AliasNode:
		p.expandTree(n.Alias, seen)
	case yaml.ScalarNode:
		p.expandScalar(n)
	}
}

// expandScalar replaces ${env:VAR}, ${VAR}, ${env:VAR:-default} and
// ${VAR:-default} with the variable's value and $$ with $. Any other $ is
// kept. A plain scalar that is exactly one reference takes the YAML type of
// the value (so ${env:PORT} can be a number), unless the value is empty;
// any other expanded scalar is a string.
func (p *parser) expandScalar(n *yaml.Node) {
	s := n.Value
	if !strings.Contains(s, "$") {
		return
	}
	var b strings.Builder
	refs, changed, whole := 0, false, false
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			changed = true
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				p.errorf(n, "unterminated %q in %q: close it with } (write $$ for a literal $)", s[i:], s)
				return
			}
			ref := s[i+2 : i+2+end]
			val, ok := p.lookup(n, "${"+ref+"}", ref)
			if !ok {
				return
			}
			whole = i == 0 && i+2+end+1 == len(s)
			b.WriteString(val)
			i += 2 + end + 1
			refs++
			changed = true
		default:
			// $NAME, the collector's old form, is not expanded (as in the
			// collector today); when NAME is set, it was surely meant.
			j := i + 1
			for j < len(s) && (s[j] == '_' || 'A' <= s[j] && s[j] <= 'Z' || 'a' <= s[j] && s[j] <= 'z' || j > i+1 && '0' <= s[j] && s[j] <= '9') {
				j++
			}
			if name := s[i+1 : j]; name != "" && p.getenv(name) != "" && !p.warnedBare[name] {
				if p.warnedBare == nil {
					p.warnedBare = map[string]bool{}
				}
				p.warnedBare[name] = true
				p.warnf("line %d: $%s is kept as written, not replaced by the variable's value: write ${env:%s} (recent collector versions do not expand $%s either)", n.Line, name, name, name)
			}
			b.WriteByte('$')
			i++
		}
	}
	if !changed {
		return
	}
	n.Value = b.String()
	if refs == 1 && whole && n.Style == 0 && n.Value != "" {
		n.Tag = "" // resolve the value's type again, as YAML would
	} else {
		n.Tag = "!!str"
	}
}

// lookup resolves one reference (the text between "${" and "}").
func (p *parser) lookup(n *yaml.Node, text, ref string) (string, bool) {
	name := ref
	if i := strings.IndexByte(ref, ':'); i >= 0 && !strings.HasPrefix(ref[i:], ":-") {
		scheme := ref[:i]
		if scheme == "secretsmanager" || scheme == "ssm" {
			return p.resolve(n, text, scheme, ref[i+1:])
		}
		if scheme != "env" {
			p.errorf(n, "%s: the %q provider is not supported; supported: env, secretsmanager, ssm", text, scheme)
			return "", false
		}
		name = ref[i+1:]
	}
	def, hasDef := "", false
	if i := strings.Index(name, ":-"); i >= 0 {
		name, def, hasDef = name[:i], name[i+2:], true
		if strings.Contains(def, "${") {
			p.errorf(n, "%s: a default value cannot contain another ${...}", text)
			return "", false
		}
	}
	if !envNameRE().MatchString(name) {
		p.errorf(n, "%s: invalid environment variable name %q", text, name)
		return "", false
	}
	p.usedEnv[name] = true
	if v := p.getenv(name); v != "" {
		return v, true
	}
	if hasDef {
		return def, true
	}
	p.errorf(n, "%s: environment variable %s is not set; set it in the function's configuration or give a default: ${env:%s:-value}", text, name, name)
	return "", false
}
