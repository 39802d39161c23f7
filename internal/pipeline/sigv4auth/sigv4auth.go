package sigv4auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Config configures a Signer; the keys of the sigv4auth extension.
type Config struct {
	// Region and Service sign every request; when empty they are inferred
	// from each request's host (see Infer), the region then from
	// AWS_REGION.
	Region  string
	Service string
	// AssumeRole, when RoleARN is set, signs with the credentials of that
	// role, obtained from STS with the function's own.
	AssumeRole AssumeRole
}

// AssumeRole configures STS AssumeRole.
type AssumeRole struct {
	RoleARN     string // assume_role.arn
	SessionName string // assume_role.session_name; default "lambdaotel"
	STSRegion   string // assume_role.sts_region; default the signing region or AWS_REGION
	ExternalID  string // the ExternalId the role's trust policy requires, if any (awsxray's external_id)
}

// Signer signs requests. Its methods may be called from several goroutines.
type Signer struct {
	creds   Provider
	region  string
	service string
	getenv  func(string) string
	now     func() time.Time
	signer  *v4.Signer
	s3      *v4.Signer // no second escaping of the path, as S3 wants
}

// New returns a Signer for cfg with credentials from the environment
// (FromEnvironment), exchanged for the role's when cfg.AssumeRole.RoleARN
// is set. getenv is os.Getenv if nil. Nothing is fetched before the first
// request.
func New(cfg Config, getenv func(string) string) (*Signer, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	base, err := FromEnvironment(getenv)
	if err != nil {
		return nil, err
	}
	s := NewWithProvider(cfg, base, getenv)
	if cfg.AssumeRole.RoleARN != "" {
		if !arnRE().MatchString(cfg.AssumeRole.RoleARN) {
			return nil, fmt.Errorf("assume_role.arn %q is not a role ARN (arn:aws:iam::123456789012:role/NAME)", cfg.AssumeRole.RoleARN)
		}
		region := firstNonEmpty(cfg.AssumeRole.STSRegion, cfg.Region, getenv(EnvRegion), getenv(EnvDefaultRegion))
		if region == "" {
			return nil, fmt.Errorf("assume_role: no STS region: set assume_role.sts_region, region or %s", EnvRegion)
		}
		sts := NewWithProvider(Config{Region: region, Service: "sts"}, base, getenv)
		s.creds = &refreshing{fetch: func(ctx context.Context) (Credentials, error) {
			return sts.assumeRole(ctx, cfg.AssumeRole.RoleARN, firstNonEmpty(cfg.AssumeRole.SessionName, "lambdaotel"), cfg.AssumeRole.ExternalID)
		}}
	}
	return s, nil
}

var arnRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`) }) // compiled at first use: start-up is cold start

// NewWithProvider returns a Signer with the given credentials.
func NewWithProvider(cfg Config, creds Provider, getenv func(string) string) *Signer {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Signer{
		creds: creds, region: cfg.Region, service: cfg.Service, getenv: getenv, now: time.Now,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true }),
		s3:     v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true; o.DisableHeaderHoisting = true }),
	}
}

// Region returns the configured region, or AWS_REGION.
func (s *Signer) Region() string {
	return firstNonEmpty(s.region, s.getenv(EnvRegion), s.getenv(EnvDefaultRegion))
}

// ServiceRegion returns the service and region that sign a request to
// host: the configured ones, else those Infer finds, else AWS_REGION.
func (s *Signer) ServiceRegion(host string) (service, region string) {
	service, region = s.service, s.region
	is, ir := Infer(host)
	if service == "" {
		service = is
	}
	if region == "" {
		region = firstNonEmpty(ir, s.getenv(EnvRegion), s.getenv(EnvDefaultRegion))
	}
	return service, region
}

// Sign signs req, whose body is exactly body, for service in region, at
// the current time. It sets X-Amz-Date, X-Amz-Security-Token (with
// temporary credentials), X-Amz-Content-Sha256 for S3 and Authorization.
func (s *Signer) Sign(ctx context.Context, req *http.Request, body []byte, service, region string) error {
	if s == nil || s.creds == nil {
		return errNoCredentials
	}
	if service == "" || region == "" {
		return fmt.Errorf("SigV4: cannot tell the service and region to sign a request to %s with; set service and region in the sigv4auth extension", req.URL.Host)
	}
	c, err := s.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	signer := s.signer
	if service == "s3" {
		signer = s.s3
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	if err := signer.SignHTTP(ctx, creds, req, hash, service, region, s.now().UTC()); err != nil {
		return fmt.Errorf("SigV4: sign request to %s: %v", req.URL.Redacted(), err)
	}
	return nil
}

// RoundTripper returns next (http.DefaultTransport if nil) with every
// request signed: the body is read in full (it is what the exporter
// compressed) and signed as it is sent. A request that cannot be signed
// fails without being sent.
func (s *Signer) RoundTripper(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &roundTripper{s: s, next: next}
}

type roundTripper struct {
	s    *Signer
	next http.RoundTripper
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	service, region := rt.s.ServiceRegion(host)
	if err := rt.s.Sign(r.Context(), r, body, service, region); err != nil {
		return nil, err
	}
	return rt.next.RoundTrip(r)
}

// CloseIdleConnections passes on to the next transport.
func (rt *roundTripper) CloseIdleConnections() {
	if c, ok := rt.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// readBody returns the whole body of req without consuming it for the
// caller (GetBody gives it again), or nil for none.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	rc := req.Body
	if req.GetBody != nil {
		var err error
		if rc, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// services maps the first label of an AWS host name to its signing name,
// where they differ.
var services = map[string]string{"aps-workspaces": "aps", "monitoring": "monitoring", "logs": "logs", "xray": "xray"}

var regionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`) }) // compiled at first use: start-up is cold start

// Infer returns the signing service and region of an AWS host name, as
// the collector's sigv4auth does: "aps-workspaces.us-west-2.amazonaws.com"
// is aps in us-west-2, "search-x.eu-west-1.es.amazonaws.com" es,
// "xray.eu-west-1.amazonaws.com" xray, "logs.REGION.amazonaws.com" logs,
// and any "SERVICE.REGION.amazonaws.com" SERVICE. Either is "" when the
// host does not say.
func Infer(host string) (service, region string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if !strings.HasSuffix(host, ".amazonaws.com") && !strings.HasSuffix(host, ".amazonaws.com.cn") {
		return "", ""
	}
	labels := strings.Split(host, ".")
	if len(labels) < 3 {
		return "", ""
	}
	first := labels[0]
	switch {
	case strings.HasPrefix(first, "search-") || strings.HasPrefix(first, "vpc-"):
		service = "es"
	case services[first] != "":
		service = services[first]
	default:
		service = first
	}
	for _, l := range labels[1:] {
		if regionRE().MatchString(l) {
			region = l
			break
		}
	}
	return service, region
}

// Endpoint returns the URL of an AWS service's API: AWS_ENDPOINT_URL_<ID>
// (the service's SDK identifier in upper case with "_" for spaces, e.g.
// AWS_ENDPOINT_URL_SECRETS_MANAGER), else AWS_ENDPOINT_URL, else
// https://<prefix>.<region>.amazonaws.com. This is the AWS SDKs'
// convention for pointing clients elsewhere.
func Endpoint(getenv func(string) string, id, prefix, region string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv("AWS_ENDPOINT_URL_" + id); v != "" {
		return strings.TrimSuffix(v, "/")
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		return strings.TrimSuffix(v, "/")
	}
	return "https://" + prefix + "." + region + ".amazonaws.com"
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
