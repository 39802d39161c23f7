// Package configsource fetches what a configuration refers to in AWS:
// the configuration file itself from S3 (s3://bucket.s3.region.amazonaws.com/key,
// as the upstream collector layer writes it) or over http(s)://, and
// values inside it from Secrets Manager (${secretsmanager:NAME_OR_ARN},
// optionally #json_key) and the SSM Parameter Store (${ssm:/name},
// decrypted).
//
// Each reference costs one signed request (no SDK configuration loading,
// no instance-metadata probing) and is resolved once: results are cached
// for the life of the process. Errors name the reference and the AWS error
// code, never a value.
package configsource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/sigv4auth"
)

// Timeout bounds one fetch. Lambda's init phase lasts at most 10 s.
const Timeout = 5 * time.Second

// Resolver resolves references; its results are cached. Use one per
// process (Default).
type Resolver struct {
	getenv func(string) string

	mu     sync.Mutex
	cache  map[string]string
	signer *sigv4auth.Signer
}

// New returns a Resolver reading credentials, region and
// AWS_ENDPOINT_URL_* with getenv (os.Getenv if nil).
func New(getenv func(string) string) *Resolver {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Resolver{getenv: getenv, cache: map[string]string{}}
}

var (
	defaultOnce sync.Once
	defaultRes  *Resolver
)

// Default returns the process's Resolver, over os.Getenv.
func Default() *Resolver {
	defaultOnce.Do(func() { defaultRes = New(nil) })
	return defaultRes
}

// Schemes are the ${scheme:...} references Resolve handles.
var Schemes = []string{"secretsmanager", "ssm"}

func (r *Resolver) sign() (*sigv4auth.Signer, error) {
	if r.signer != nil {
		return r.signer, nil
	}
	creds, err := sigv4auth.FromEnvironment(r.getenv)
	if err != nil {
		return nil, err
	}
	r.signer = sigv4auth.NewWithProvider(sigv4auth.Config{}, creds, r.getenv)
	return r.signer, nil
}

// Resolve returns the value of ${scheme:ref}: a Secrets Manager secret's
// SecretString (or one key of it when ref ends in #key and the secret is
// a JSON object), or an SSM parameter's decrypted value (#key likewise).
func (r *Resolver) Resolve(ctx context.Context, scheme, ref string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.cache[scheme+":"+ref]; ok {
		return v, nil
	}
	id, key, hasKey := strings.Cut(ref, "#")
	if id == "" {
		return "", fmt.Errorf("empty %s reference", scheme)
	}
	whole, ok := r.cache[scheme+":"+id]
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, Timeout)
		defer cancel()
		var err error
		switch scheme {
		case "secretsmanager":
			whole, err = r.secret(ctx, id)
		case "ssm":
			whole, err = r.parameter(ctx, id)
		default:
			return "", fmt.Errorf("unknown source %q; supported: %s", scheme, strings.Join(Schemes, ", "))
		}
		if err != nil {
			return "", err
		}
		r.cache[scheme+":"+id] = whole
	}
	v := whole
	if hasKey {
		var obj map[string]any
		if err := json.Unmarshal([]byte(whole), &obj); err != nil {
			return "", fmt.Errorf("#%s: the value is not a JSON object, so it has no keys", key)
		}
		x, ok := obj[key]
		if !ok {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			return "", fmt.Errorf("#%s: no such key in the JSON object (%d keys: %s)", key, len(keys), strings.Join(sortStrings(keys), ", "))
		}
		switch t := x.(type) {
		case string:
			v = t
		default:
			b, _ := json.Marshal(t)
			v = string(b)
		}
	}
	r.cache[scheme+":"+ref] = v
	return v, nil
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// regionOf returns the region of an ARN, or the environment's.
func (r *Resolver) regionOf(id string) string {
	if strings.HasPrefix(id, "arn:") {
		if f := strings.Split(id, ":"); len(f) > 4 && f[3] != "" {
			return f[3]
		}
	}
	return firstNonEmpty(r.getenv(sigv4auth.EnvRegion), r.getenv(sigv4auth.EnvDefaultRegion))
}

// awsJSON makes one awsJson1.1 call.
func (r *Resolver) awsJSON(ctx context.Context, service, endpointID, target, region string, in, out any) error {
	s, err := r.sign()
	if err != nil {
		return err
	}
	if region == "" {
		return fmt.Errorf("no region: set %s", sigv4auth.EnvRegion)
	}
	body, _ := json.Marshal(in)
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {target}}
	op := service + ":" + target[strings.IndexByte(target, '.')+1:]
	data, err := s.Call(ctx, op, http.MethodPost, sigv4auth.Endpoint(r.getenv, endpointID, service, region)+"/", h, body, service, region)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: the answer is not JSON: %v", op, err)
	}
	return nil
}

// secret calls Secrets Manager GetSecretValue.
func (r *Resolver) secret(ctx context.Context, id string) (string, error) {
	var out struct {
		SecretString *string
		SecretBinary []byte
	}
	if err := r.awsJSON(ctx, "secretsmanager", "SECRETS_MANAGER", "secretsmanager.GetSecretValue", r.regionOf(id), map[string]string{"SecretId": id}, &out); err != nil {
		return "", err
	}
	if out.SecretString == nil {
		if out.SecretBinary != nil {
			return string(out.SecretBinary), nil
		}
		return "", fmt.Errorf("secretsmanager:GetSecretValue: the answer has no SecretString")
	}
	return *out.SecretString, nil
}

// parameter calls SSM GetParameter with decryption.
func (r *Resolver) parameter(ctx context.Context, name string) (string, error) {
	var out struct {
		Parameter struct {
			Value *string
		}
	}
	in := map[string]any{"Name": name, "WithDecryption": true}
	if err := r.awsJSON(ctx, "ssm", "SSM", "AmazonSSM.GetParameter", r.regionOf(name), in, &out); err != nil {
		return "", err
	}
	if out.Parameter.Value == nil {
		return "", fmt.Errorf("ssm:GetParameter: the answer has no Parameter.Value")
	}
	return *out.Parameter.Value, nil
}

// IsRemote reports whether uri names a configuration Fetch gets: s3: or
// http(s):.
func IsRemote(uri string) bool {
	l := strings.ToLower(uri)
	return strings.HasPrefix(l, "s3:") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// MaxConfigBytes bounds a fetched configuration.
const MaxConfigBytes = 1 << 20

// Fetch returns the configuration file uri names:
//
//	s3://BUCKET.s3.REGION.amazonaws.com/KEY   (the upstream layer's form)
//	s3://BUCKET/KEY                           (region from AWS_REGION)
//	https://host/path, http://host/path       (unsigned GET)
//
// S3 requests are signed with the function's credentials; with
// AWS_ENDPOINT_URL_S3 set they go there, path-style.
func (r *Resolver) Fetch(ctx context.Context, uri string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if strings.HasPrefix(strings.ToLower(uri), "s3:") {
		return r.s3(ctx, uri)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %v", err)
	}
	shown := *req.URL // for messages: no user information or query, which may hold a token
	shown.User, shown.RawQuery = nil, ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %v", shown.String(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", shown.String(), resp.Status)
	}
	return readLimited(resp.Body)
}

func readLimited(rd io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, MaxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxConfigBytes)
	}
	return data, nil
}

// ParseS3 splits an s3 URI into bucket, key and region ("" when the URI
// does not say).
func ParseS3(uri string) (bucket, key, region string, err error) {
	rest := uri[len("s3:"):]
	rest = strings.TrimPrefix(rest, "//")
	host, key, ok := strings.Cut(rest, "/")
	if !ok || host == "" || key == "" {
		return "", "", "", fmt.Errorf("%q: use s3://BUCKET.s3.REGION.amazonaws.com/KEY or s3://BUCKET/KEY", uri)
	}
	bucket = host
	if b, after, ok := strings.Cut(host, ".s3."); ok {
		bucket = b
		region = strings.TrimSuffix(strings.TrimSuffix(after, ".amazonaws.com"), ".amazonaws.com.cn")
		if region == "amazonaws.com" {
			region = ""
		}
	} else if b, ok := strings.CutSuffix(host, ".s3.amazonaws.com"); ok {
		bucket = b
	}
	return bucket, key, region, nil
}

func (r *Resolver) s3(ctx context.Context, uri string) ([]byte, error) {
	bucket, key, region, err := ParseS3(uri)
	if err != nil {
		return nil, err
	}
	region = firstNonEmpty(region, r.getenv(sigv4auth.EnvRegion), r.getenv(sigv4auth.EnvDefaultRegion))
	if region == "" {
		return nil, fmt.Errorf("%q: no region: name it in the host (BUCKET.s3.REGION.amazonaws.com) or set %s", uri, sigv4auth.EnvRegion)
	}
	s, err := r.sign()
	if err != nil {
		return nil, err
	}
	escKey := (&url.URL{Path: key}).EscapedPath()
	u := "https://" + bucket + ".s3." + region + ".amazonaws.com/" + escKey
	if ep := firstNonEmpty(r.getenv("AWS_ENDPOINT_URL_S3"), r.getenv("AWS_ENDPOINT_URL")); ep != "" {
		u = strings.TrimSuffix(ep, "/") + "/" + bucket + "/" + escKey
	}
	data, err := s.Call(ctx, "s3:GetObject s3://"+bucket+"/"+key, http.MethodGet, u, nil, nil, "s3", region)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("s3://%s/%s: larger than %d bytes", bucket, key, MaxConfigBytes)
	}
	return data, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
