// Package auth turns the authenticator extensions of a configuration
// (sigv4auth, basicauth, bearertokenauth, headers_setter) into HTTP
// transports that authenticate each request an exporter sends.
//
// A transport wraps the exporter's own: it sees the request exactly as it
// will be sent, body compressed, so a SigV4 signature covers the bytes on
// the wire.
package auth

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/sigv4auth"
)

// Wrapper wraps an exporter's transport with authentication.
type Wrapper func(http.RoundTripper) http.RoundTripper

// New returns the Wrapper of extension x. getenv (os.Getenv if nil)
// gives the AWS credentials of sigv4auth. It reads a bearer token file
// and the environment; it does not connect.
func New(x *config.Extension, getenv func(string) string) (Wrapper, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case x.SigV4 != nil:
		c := x.SigV4
		s, err := sigv4auth.New(sigv4auth.Config{
			Region: c.Region, Service: c.Service,
			AssumeRole: sigv4auth.AssumeRole{RoleARN: c.AssumeRoleARN, SessionName: c.SessionName, STSRegion: c.STSRegion},
		}, getenv)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", x.ID, err)
		}
		return s.RoundTripper, nil
	case x.Basic != nil:
		v := "Basic " + base64.StdEncoding.EncodeToString([]byte(x.Basic.Username+":"+x.Basic.Password))
		return headers([]config.HeaderAction{{Key: "Authorization", Value: v, Action: config.Upsert}}), nil
	case x.Bearer != nil:
		tok := x.Bearer.Token
		if x.Bearer.Filename != "" {
			b, err := os.ReadFile(x.Bearer.Filename)
			if err != nil {
				return nil, fmt.Errorf("extension %s: read token file: %w", x.ID, err)
			}
			tok = strings.TrimSpace(string(b))
		}
		v := tok
		if x.Bearer.Scheme != "" {
			v = x.Bearer.Scheme + " " + tok
		}
		return headers([]config.HeaderAction{{Key: "Authorization", Value: v, Action: config.Upsert}}), nil
	case x.Headers != nil:
		return headers(x.Headers.Headers), nil
	}
	return nil, fmt.Errorf("extension %s: type %q is not an authenticator", x.ID, x.Type)
}

// headers returns a Wrapper applying actions to each request's headers.
func headers(actions []config.HeaderAction) Wrapper {
	return func(next http.RoundTripper) http.RoundTripper {
		if next == nil {
			next = http.DefaultTransport
		}
		return &headerTransport{actions: actions, next: next}
	}
}

type headerTransport struct {
	actions []config.HeaderAction
	next    http.RoundTripper
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for _, a := range t.actions {
		_, present := r.Header[http.CanonicalHeaderKey(a.Key)]
		switch a.Action {
		case config.Insert:
			if !present {
				r.Header.Set(a.Key, a.Value)
			}
		case config.Update:
			if present {
				r.Header.Set(a.Key, a.Value)
			}
		case config.Delete:
			r.Header.Del(a.Key)
		default:
			r.Header.Set(a.Key, a.Value)
		}
	}
	return t.next.RoundTrip(r)
}

// CloseIdleConnections passes on to the next transport.
func (t *headerTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
