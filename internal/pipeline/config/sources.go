package config

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/configsource"
)

// resolve expands ${secretsmanager:NAME_OR_ARN[#key]} or
// ${ssm:/name[#key]}: one signed AWS call per secret or parameter, cached.
// The value is never put in an error or warning.
func (p *parser) resolve(n *yaml.Node, text, scheme, ref string) (string, bool) {
	if p.sources == nil {
		p.sources = configsource.New(p.getenv)
	}
	v, err := p.sources.Resolve(context.Background(), scheme, ref)
	if err != nil {
		p.errorf(n, "%s: cannot resolve: %v", text, err)
		return "", false
	}
	if len(v) >= 4 { // shorter values are no secret, and would blank out common words
		p.secrets = append(p.secrets, v)
	}
	return v, true
}

// loadRemote fetches and parses a configuration from S3 or http(s).
// The URI in messages has no user information or query (it may hold a
// token).
func loadRemote(uri, variable string, getenv func(string) string) (*Config, error) {
	shown := redactURI(uri)
	data, err := configsource.New(getenv).Fetch(context.Background(), uri)
	if err != nil {
		return nil, &Error{File: shown, Err: err, Message: fmt.Sprintf("cannot fetch the configuration (named by %s): %v", variable, err)}
	}
	return Parse(data, shown, getenv)
}

// redactURI drops user information and the query of a URI.
func redactURI(uri string) string {
	if strings.HasPrefix(strings.ToLower(uri), "s3:") {
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			return uri[:i]
		}
		return uri
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
