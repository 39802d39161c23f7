package config

import (
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Extension is a declared authenticator extension, referenced by exporters
// as auth: {authenticator: ID}. Exactly one of the type-specific fields is
// set, according to Type. Other collector extensions (health_check, pprof,
// ...) are accepted with a warning and not kept.
type Extension struct {
	ID   string // as declared, e.g. "sigv4auth" or "basicauth/backend"
	Type string // one of AuthenticatorTypes
	Pos  Position

	SigV4   *SigV4Auth
	Basic   *BasicAuth
	Bearer  *BearerTokenAuth
	Headers *HeadersSetter
}

// AuthenticatorTypes are the extension types an exporter can authenticate with.
var AuthenticatorTypes = []string{"sigv4auth", "basicauth", "bearertokenauth", "headers_setter"}

// SigV4Auth configures AWS Signature Version 4 signing (the collector's
// sigv4auth extension). Empty Region and Service are inferred from each
// request's host, the region then from AWS_REGION.
type SigV4Auth struct {
	Region  string
	Service string
	// AssumeRoleARN, when set, signs with that role's credentials, from
	// STS in STSRegion (default Region or AWS_REGION), session SessionName.
	AssumeRoleARN string
	SessionName   string
	STSRegion     string
}

// BasicAuth configures HTTP Basic authentication of the exporter's
// requests (basicauth's client_auth).
type BasicAuth struct {
	Username, Password string
}

// BearerTokenAuth configures an Authorization: <Scheme> <Token> header.
type BearerTokenAuth struct {
	Scheme   string // default "Bearer"
	Token    string // or the content of Filename, read at start
	Filename string
}

// HeadersSetter sets headers on each request (headers_setter with static
// values).
type HeadersSetter struct {
	Headers []HeaderAction
}

// HeaderAction is one entry of headers_setter's headers.
type HeaderAction struct {
	Key    string
	Value  string
	Action Action // Insert, Update, Upsert (default) or Delete
}

// ignoredExtension reports whether an extension type is accepted with a
// warning and not run.
func ignoredExtension(typ string) bool {
	return !contains(AuthenticatorTypes, typ)
}

// extensions decodes the extensions section.
func (p *parser) extensions(n *yaml.Node, cfg *Config) declared {
	decl := declared{}
	var ignored []string
	for _, e := range p.entries(n, "extensions") {
		decl[e.key.Value] = true
		typ, _, ok := p.splitID(e.key, "extensions")
		if !ok {
			continue
		}
		if ignoredExtension(typ) {
			if typ == "oauth2client" {
				p.errorf(e.key, "extensions.%s: oauth2client is not supported by lambdaotel; use bearertokenauth with a token, or headers_setter", e.key.Value)
				continue
			}
			ignored = append(ignored, e.key.Value)
			continue
		}
		if x := p.extension(e, typ); x != nil {
			if cfg.Extensions == nil {
				cfg.Extensions = map[string]*Extension{}
			}
			cfg.Extensions[x.ID] = x
		}
	}
	if len(ignored) > 0 {
		p.warnf("extensions: accepted and ignored: lambdaotel does not run collector extensions (%s)", strings.Join(ignored, ", "))
	}
	return decl
}

func (p *parser) extension(e entry, typ string) *Extension {
	id := e.key.Value
	path := "extensions." + id
	x := &Extension{ID: id, Type: typ, Pos: p.pos(e.key)}
	str := func(f map[string]entry, k, at string) string {
		v, _ := p.scalar(f[k].val, at+"."+k)
		return v
	}
	switch typ {
	case "sigv4auth":
		f := p.fields(e.val, path, []string{"region", "service", "assume_role"}, nil)
		s := &SigV4Auth{Region: str(f, "region", path), Service: str(f, "service", path)}
		if ar, ok := f["assume_role"]; ok {
			af := p.fields(ar.val, path+".assume_role", []string{"arn", "session_name", "sts_region"}, nil)
			s.AssumeRoleARN = str(af, "arn", path+".assume_role")
			s.SessionName = str(af, "session_name", path+".assume_role")
			s.STSRegion = str(af, "sts_region", path+".assume_role")
			if s.AssumeRoleARN != "" && !strings.HasPrefix(s.AssumeRoleARN, "arn:") {
				p.errorf(deref(af["arn"].val), "%s.assume_role.arn: %q is not an ARN; use arn:aws:iam::123456789012:role/NAME", path, s.AssumeRoleARN)
			}
		}
		x.SigV4 = s
	case "basicauth":
		f := p.fields(e.val, path, []string{"client_auth", "htpasswd"}, nil)
		if _, ok := f["htpasswd"]; ok {
			p.errorf(f["htpasswd"].key, "%s.htpasswd: authenticates a server's clients; lambdaotel's receivers only listen on loopback and need none; use client_auth for an exporter", path)
		}
		ca, ok := f["client_auth"]
		if !ok {
			p.errorf(e.key, "%s: client_auth is required: client_auth: {username: ..., password: ...}", path)
			return nil
		}
		cf := p.fields(ca.val, path+".client_auth", []string{"username", "password"}, nil)
		x.Basic = &BasicAuth{Username: str(cf, "username", path+".client_auth"), Password: str(cf, "password", path+".client_auth")}
		if x.Basic.Username == "" {
			p.errorf(ca.key, "%s.client_auth: username is required", path)
		}
		if strings.Contains(x.Basic.Username, ":") {
			p.errorf(deref(cf["username"].val), "%s.client_auth.username: must not contain \":\" (HTTP Basic authentication)", path)
		}
	case "bearertokenauth":
		f := p.fields(e.val, path, []string{"scheme", "token", "filename"}, nil)
		b := &BearerTokenAuth{Scheme: "Bearer", Token: str(f, "token", path), Filename: str(f, "filename", path)}
		if s, ok := f["scheme"]; ok {
			b.Scheme, _ = p.scalar(s.val, path+".scheme")
		}
		switch {
		case b.Token == "" && b.Filename == "":
			p.errorf(e.key, "%s: token or filename is required", path)
		case b.Token != "" && b.Filename != "":
			p.errorf(f["filename"].key, "%s: set token or filename, not both", path)
		case b.Filename != "":
			if _, err := os.Stat(b.Filename); err != nil {
				p.errorf(deref(f["filename"].val), "%s.filename: cannot read %q: %v", path, b.Filename, pathErrorCause(err))
			}
		}
		x.Bearer = b
	case "headers_setter":
		f := p.fields(e.val, path, []string{"headers"}, nil)
		hn := deref(f["headers"].val)
		if isNull(hn) || hn.Kind != yaml.SequenceNode || len(hn.Content) == 0 {
			p.errorf(e.key, "%s: headers is required: a list of {key, value, action}", path)
			return nil
		}
		h := &HeadersSetter{}
		for i, item := range hn.Content {
			ip := path + ".headers[" + strconv.Itoa(i) + "]"
			hf := p.fields(item, ip, []string{"key", "value", "action", "from_context", "default_value"}, nil)
			a := HeaderAction{Key: str(hf, "key", ip), Value: str(hf, "value", ip), Action: Upsert}
			if v := p.oneOf(hf["action"].val, ip+".action", "insert", "update", "upsert", "delete"); v != "" {
				a.Action = Action(v)
			}
			if fc, ok := hf["from_context"]; ok {
				p.errorf(fc.key, "%s.from_context: not supported: lambdaotel's exporters send after the function's request has ended, so there is no request context to copy from; use value", ip)
			}
			if dv, ok := hf["default_value"]; ok && a.Value == "" {
				a.Value, _ = p.scalar(dv.val, ip+".default_value")
			}
			switch {
			case !isToken(a.Key):
				p.errorf(deref(item), "%s.key: invalid header name %q", ip, a.Key)
			case a.Action != Delete && a.Value == "" && hf["from_context"].key == nil:
				p.errorf(deref(item), "%s: value is required for %s", ip, a.Action)
			}
			h.Headers = append(h.Headers, a)
		}
		x.Headers = h
	}
	return x
}

// exporterAuth decodes an exporter's auth: {authenticator: ID}.
func (p *parser) exporterAuth(e entry, path string) (string, *yaml.Node) {
	if e.val == nil || isNull(e.val) {
		return "", nil
	}
	f := p.fields(e.val, path, []string{"authenticator"}, nil)
	a, ok := f["authenticator"]
	if !ok {
		p.errorf(e.key, "%s: authenticator is required: auth: {authenticator: sigv4auth}", path)
		return "", nil
	}
	id, _ := p.scalar(a.val, path+".authenticator")
	return id, deref(a.val)
}

// checkAuth checks every exporter's authenticator against the declared
// extensions.
func (p *parser) checkAuth(cfg *Config, decl declared, refs map[string]*yaml.Node) {
	used := map[string]bool{}
	for _, id := range sortedKeys(refs) {
		ex, n := cfg.Exporters[id], refs[id]
		switch {
		case ex == nil:
		case cfg.Extensions[ex.Auth] != nil:
			used[ex.Auth] = true
		case decl[ex.Auth]:
			typ, _, _ := strings.Cut(ex.Auth, "/")
			if ignoredExtension(typ) {
				p.errorf(n, "exporters.%s.auth.authenticator: extension %q is not an authenticator; supported: %s", id, ex.Auth, strings.Join(AuthenticatorTypes, ", "))
			}
		case len(cfg.Extensions) == 0:
			p.errorf(n, "exporters.%s.auth.authenticator: %q is not declared; declare it under extensions (types: %s)", id, ex.Auth, strings.Join(AuthenticatorTypes, ", "))
		default:
			p.errorf(n, "exporters.%s.auth.authenticator: %q is not declared; declared authenticators: %s", id, ex.Auth, strings.Join(sortedKeys(cfg.Extensions), ", "))
		}
	}
	for _, id := range sortedKeys(cfg.Extensions) {
		if !used[id] {
			p.warnf("extension %s is declared but no exporter uses it (auth: {authenticator: %s})", id, id)
		}
	}
}

// auth records an exporter's authenticator, checked once the extensions
// are read.
func (p *parser) auth(ex *Exporter, e entry, path string) {
	id, n := p.exporterAuth(e, path)
	if id == "" || n == nil {
		return
	}
	ex.Auth = id
	if p.authRefs == nil {
		p.authRefs = map[string]*yaml.Node{}
	}
	p.authRefs[ex.ID] = n
}

// serviceExtensions checks service.extensions: every id must be declared;
// those that are not authenticators are accepted with a warning.
func (p *parser) serviceExtensions(n *yaml.Node) {
	ids, nodes := p.list(n, "service.extensions")
	var ignored []string
	for i, id := range ids {
		typ, _, _ := strings.Cut(id, "/")
		switch {
		case !p.exts[id]:
			p.errorf(nodes[i], "service.extensions: extension %q is not declared under extensions", id)
		case ignoredExtension(typ):
			ignored = append(ignored, id)
		}
	}
	if len(ignored) > 0 {
		p.warnf("service.extensions: accepted and ignored: lambdaotel does not run collector extensions (%s)", strings.Join(ignored, ", "))
	}
}
