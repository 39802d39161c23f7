// Package sigv4auth signs HTTP requests with AWS Signature Version 4, as
// the collector's sigv4auth extension does: credentials from the Lambda
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
// from a container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI
// with AWS_CONTAINER_AUTHORIZATION_TOKEN), optionally exchanged for a
// role's through STS AssumeRole, refreshed before they expire.
//
// The signing algorithm is the AWS SDK for Go v2's (aws/signer/v4); this
// package only finds credentials, picks the service and region, and signs
// the exact bytes a request carries. It never loads the SDK's shared
// configuration, probes the instance metadata service or reads files: one
// network round trip at most per credentials refresh.
package sigv4auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Credentials are AWS credentials. Expires is zero when they do not expire.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expires         time.Time
}

// Provider gives credentials. Implementations cache and refresh.
type Provider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// Environment variables read for credentials.
const (
	EnvAccessKeyID        = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey    = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken       = "AWS_SESSION_TOKEN"
	EnvContainerFullURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvContainerToken     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvContainerTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	EnvRegion             = "AWS_REGION"
	EnvDefaultRegion      = "AWS_DEFAULT_REGION"
)

// containerProviders holds the container credentials providers by
// endpoint, token and token file.
var containerProviders sync.Map

// RefreshBefore is how long before expiry cached credentials are fetched
// again, so that a request is never signed with credentials about to end.
const RefreshBefore = 5 * time.Minute

// FromEnvironment returns the function's credentials: the static ones in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN if set,
// else those of AWS_CONTAINER_CREDENTIALS_FULL_URI. getenv is os.Getenv if
// nil. It reads only variables; nothing is fetched before the first
// Retrieve.
func FromEnvironment(getenv func(string) string) (Provider, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	id, secret := getenv(EnvAccessKeyID), getenv(EnvSecretAccessKey)
	switch {
	case id != "" && secret != "":
		return static{Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv(EnvSessionToken)}}, nil
	case id != "" || secret != "":
		return nil, fmt.Errorf("AWS credentials: %s and %s go together; only one is set", EnvAccessKeyID, EnvSecretAccessKey)
	}
	if u := getenv(EnvContainerFullURI); u != "" {
		// One provider per endpoint in the process: every signer shares
		// its cached credentials, fetched once.
		token, file := getenv(EnvContainerToken), getenv(EnvContainerTokenFile)
		p, _ := containerProviders.LoadOrStore(u+"\x00"+token+"\x00"+file, &refreshing{fetch: containerFetch(u, token, file)})
		return p.(*refreshing), nil
	}
	return nil, fmt.Errorf("no AWS credentials: none of %s/%s or %s is set (Lambda sets them for the function's execution role)",
		EnvAccessKeyID, EnvSecretAccessKey, EnvContainerFullURI)
}

// Static returns a provider of fixed credentials.
func Static(c Credentials) Provider { return static{c} }

type static struct{ c Credentials }

func (s static) Retrieve(context.Context) (Credentials, error) { return s.c, nil }

// refreshing caches what fetch returns until RefreshBefore its expiry.
type refreshing struct {
	fetch func(ctx context.Context) (Credentials, error)
	now   func() time.Time // time.Now if nil

	mu sync.Mutex
	c  Credentials
	ok bool
}

func (r *refreshing) Retrieve(ctx context.Context) (Credentials, error) {
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ok && (r.c.Expires.IsZero() || now().Add(RefreshBefore).Before(r.c.Expires)) {
		return r.c, nil
	}
	c, err := r.fetch(ctx)
	if err != nil {
		if r.ok && now().Before(r.c.Expires) {
			return r.c, nil // still valid: use them and try again next time
		}
		return Credentials{}, err
	}
	r.c, r.ok = c, true
	return c, nil
}

// httpClient makes the credential and API calls of this module's AWS
// clients; requests are bounded by their context.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// containerFetch returns a fetch of the container credentials endpoint
// (the ECS/Lambda "full URI" form), sending token (or the content of
// tokenFile) as Authorization.
func containerFetch(uri, token, tokenFile string) func(ctx context.Context) (Credentials, error) {
	return func(ctx context.Context) (Credentials, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return Credentials{}, fmt.Errorf("container credentials %s: %v", EnvContainerFullURI, err)
		}
		if tokenFile != "" {
			b, err := os.ReadFile(tokenFile)
			if err != nil {
				return Credentials{}, fmt.Errorf("container credentials: read %s: %v", EnvContainerTokenFile, err)
			}
			token = strings.TrimSpace(string(b))
		}
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return Credentials{}, fmt.Errorf("container credentials from %s: %v", req.URL.Redacted(), err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var doc struct {
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string
			Token           string
			Expiration      string
			Code, Message   string
		}
		jerr := json.Unmarshal(body, &doc)
		if resp.StatusCode != http.StatusOK {
			detail := doc.Code
			if doc.Message != "" {
				detail += ": " + doc.Message
			}
			return Credentials{}, fmt.Errorf("container credentials from %s: %s %s", req.URL.Redacted(), resp.Status, detail)
		}
		if jerr != nil || doc.AccessKeyID == "" || doc.SecretAccessKey == "" {
			return Credentials{}, fmt.Errorf("container credentials from %s: the answer has no AccessKeyId/SecretAccessKey", req.URL.Redacted())
		}
		c := Credentials{AccessKeyID: doc.AccessKeyID, SecretAccessKey: doc.SecretAccessKey, SessionToken: doc.Token}
		if doc.Expiration != "" {
			if c.Expires, err = time.Parse(time.RFC3339, doc.Expiration); err != nil {
				return Credentials{}, fmt.Errorf("container credentials: invalid Expiration %q", doc.Expiration)
			}
		}
		return c, nil
	}
}

// errNoCredentials is returned by a nil provider.
var errNoCredentials = errors.New("no AWS credentials")
