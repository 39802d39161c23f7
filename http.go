package lambdaotel

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// HTTP triggers follow the HTTP server span conventions
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/) and the
// API Gateway section of the AWS Lambda conventions
// (https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/): the
// span's name and http.route are the route configured in API Gateway.

// httpRequest is what the HTTP triggers' events say about the request.
type httpRequest struct {
	headers  headerCarrier
	method   string
	route    string // the configured route template, or ""
	path     string
	query    string // encoded, or ""
	host     string // the host the client asked for, if the headers do not say
	client   string // the client's address, if the headers do not say
	agent    string // the user agent, if the headers do not say
	protocol string // "HTTP/1.1"
}

// apiGateway: API Gateway REST API (payload format 1.0).
func (t *trigger) apiGateway(e *events.APIGatewayProxyRequest) {
	rc := &e.RequestContext
	r := httpRequest{
		headers:  headerCarrier{one: e.Headers, multi: e.MultiValueHeaders},
		method:   first(e.HTTPMethod, rc.HTTPMethod),
		route:    first(e.Resource, rc.ResourcePath),
		path:     e.Path,
		query:    encodeQuery(e.MultiValueQueryStringParameters, e.QueryStringParameters),
		host:     rc.DomainName,
		client:   rc.Identity.SourceIP,
		agent:    rc.Identity.UserAgent,
		protocol: rc.Protocol,
	}
	t.setHTTP(httpV1, &r)
}

// httpAPI: API Gateway HTTP API (payload format 2.0). The route is the
// route key's path ("GET /pets/{id}"); $default has none.
func (t *trigger) httpAPI(e *events.APIGatewayV2HTTPRequest) {
	rc := &e.RequestContext
	route := first(e.RouteKey, rc.RouteKey)
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path
	} else {
		route = "" // $default, or a route key without a method
	}
	r := httpRequest{
		headers:  headerCarrier{one: e.Headers},
		method:   rc.HTTP.Method,
		route:    route,
		path:     first(e.RawPath, rc.HTTP.Path),
		query:    redactQuery(e.RawQueryString),
		host:     rc.DomainName,
		client:   rc.HTTP.SourceIP,
		agent:    rc.HTTP.UserAgent,
		protocol: rc.HTTP.Protocol,
	}
	t.setHTTP(httpV2, &r)
}

// functionURL: a Lambda function URL (payload format 2.0, no routes).
func (t *trigger) functionURL(e *events.LambdaFunctionURLRequest) {
	rc := &e.RequestContext
	r := httpRequest{
		headers:  headerCarrier{one: e.Headers},
		method:   rc.HTTP.Method,
		path:     first(e.RawPath, rc.HTTP.Path),
		query:    redactQuery(e.RawQueryString),
		host:     rc.DomainName,
		client:   rc.HTTP.SourceIP,
		agent:    rc.HTTP.UserAgent,
		protocol: rc.HTTP.Protocol,
	}
	t.setHTTP(httpV2, &r)
}

// alb: an Application Load Balancer target group (no routes; the client's
// address is the first of X-Forwarded-For).
func (t *trigger) alb(e *events.ALBTargetGroupRequest) {
	h := headerCarrier{one: e.Headers, multi: e.MultiValueHeaders}
	client := h.get("X-Forwarded-For", "x-forwarded-for")
	if i := strings.IndexByte(client, ','); i >= 0 {
		client = client[:i]
	}
	r := httpRequest{
		headers: h,
		method:  e.HTTPMethod,
		path:    e.Path,
		query:   encodeQuery(e.MultiValueQueryStringParameters, e.QueryStringParameters),
		client:  strings.TrimSpace(client),
	}
	t.setHTTP(httpALB, &r)
}

// setHTTP makes t a SERVER span with the HTTP server attributes of r.
func (t *trigger) setHTTP(k httpKind, r *httpRequest) {
	t.kind = trace.SpanKindServer
	t.http = k
	t.carrier = r.headers
	t.add(semconv.FaaSTriggerHTTP)

	method, known := normalizeMethod(r.method)
	if known {
		t.add(semconv.HTTPRequestMethodKey.String(method))
		if method != r.method {
			// Normalised ("get" is GET): the conventions want the original.
			t.add(semconv.HTTPRequestMethodOriginal(r.method))
		}
	} else {
		t.add(semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(r.method))
		method = "HTTP"
	}
	if r.route != "" {
		t.name = method + " " + r.route
		t.add(semconv.HTTPRoute(r.route))
	} else {
		t.name = method
	}
	if r.path != "" {
		t.add(semconv.URLPath(r.path))
	}
	if r.query != "" {
		t.add(semconv.URLQuery(r.query))
	}
	scheme := r.headers.get("X-Forwarded-Proto", "x-forwarded-proto")
	if scheme == "" {
		scheme = "https" // API Gateway and function URLs are HTTPS only
	}
	t.add(semconv.URLScheme(scheme))

	host := r.headers.get("Host", "host")
	if host == "" {
		host = r.host
	}
	port := 0
	if h, p, err := net.SplitHostPort(host); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	if fp := r.headers.get("X-Forwarded-Port", "x-forwarded-port"); fp != "" {
		if p, err := strconv.Atoi(fp); err == nil {
			port = p
		}
	}
	if host != "" {
		t.add(semconv.ServerAddress(host))
	}
	if port > 0 {
		t.add(semconv.ServerPort(port))
	}
	if ua := first(r.headers.get("User-Agent", "user-agent"), r.agent); ua != "" {
		t.add(semconv.UserAgentOriginal(ua))
	}
	if r.client != "" {
		t.add(semconv.ClientAddress(r.client))
	}
	if v := protocolVersion(r.protocol); v != "" {
		t.add(semconv.NetworkProtocolVersion(v))
	}
}

// normalizeMethod returns the method as http.request.method has it, and
// whether it is one of the known methods (in any case: API Gateway, ALB
// and function URLs take methods in any case).
func normalizeMethod(m string) (string, bool) {
	known := knownMethods()
	if known == nil {
		switch m {
		case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "QUERY":
			return m, true
		}
		u := strings.ToUpper(m)
		switch u {
		case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "QUERY":
			return u, true
		}
		return "_OTHER", false
	}
	if known[m] {
		return m, true
	}
	if u := strings.ToUpper(m); known[u] {
		return u, true
	}
	return "_OTHER", false
}

// knownMethods is the list of known methods of
// OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS (comma-separated, case-sensitive,
// replacing the default list, as the HTTP conventions ask), or nil for
// the default list: the methods of RFC 9110, PATCH and QUERY.
var knownMethods = sync.OnceValue(func() map[string]bool {
	return parseKnownMethods(os.Getenv("OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS"))
})

func parseKnownMethods(v string) map[string]bool {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	m := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m[s] = true
		}
	}
	return m
}

// protocolVersion turns "HTTP/1.1" into "1.1" and "HTTP/2.0" into "2".
func protocolVersion(p string) string {
	v, ok := strings.CutPrefix(p, "HTTP/")
	if !ok {
		return ""
	}
	if base, ok := strings.CutSuffix(v, ".0"); ok && base != "1" {
		return base
	}
	return v
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// encodeQuery encodes the query parameters of a payload format 1.0 event
// (keys sorted), with the sensitive values redacted.
func encodeQuery(multi map[string][]string, single map[string]string) string {
	if len(multi) == 0 && len(single) == 0 {
		return ""
	}
	v := url.Values(multi)
	if len(multi) == 0 {
		v = make(url.Values, len(single))
		for k, s := range single {
			v[k] = []string{s}
		}
	}
	return redactQuery(v.Encode())
}

// sensitiveQueryKeys are the query parameters whose values url.query
// must not carry (semantic conventions, url.query).
var sensitiveQueryKeys = []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "sig", "X-Goog-Signature"}

// redactQuery replaces the values of sensitive parameters with REDACTED.
func redactQuery(q string) string {
	found := false
	for _, k := range sensitiveQueryKeys {
		if strings.Contains(q, k+"=") {
			found = true
			break
		}
	}
	if !found {
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		for _, s := range sensitiveQueryKeys {
			if k == s {
				parts[i] = k + "=REDACTED"
				break
			}
		}
	}
	return strings.Join(parts, "&")
}

// headerCarrier reads the propagation fields of an event's HTTP headers,
// whatever their case.
type headerCarrier struct {
	one   map[string]string
	multi map[string][]string
}

// Get implements propagation.TextMapCarrier.
func (h headerCarrier) Get(key string) string { return h.get(key, "") }

// get returns the header key; lower, if not empty, is key in lower case,
// tried before the headers are searched.
func (h headerCarrier) get(key, lower string) string {
	if v, ok := lookupFold(h.one, key, lower); ok {
		return v
	}
	if vs, ok := lookupFold(h.multi, key, lower); ok {
		return strings.Join(vs, ",")
	}
	return ""
}

func lookupFold[V any](m map[string]V, key, lower string) (V, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	if lower != "" {
		if v, ok := m[lower]; ok {
			return v, true
		}
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// Set implements propagation.TextMapCarrier; events are read only.
func (headerCarrier) Set(string, string) {}

// Keys implements propagation.TextMapCarrier.
func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h.one)+len(h.multi))
	for k := range h.one {
		keys = append(keys, k)
	}
	for k := range h.multi {
		if _, ok := h.one[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// responseKind is the HTTP response type of a handler.
type responseKind uint8

const (
	respOther responseKind = iota
	respAPIGateway
	respHTTPAPI
	respALB
	respFunctionURL
	respFunctionURLStreaming
)

func responseKindOf[T any]() responseKind {
	var p *T
	switch any(p).(type) {
	case *events.APIGatewayProxyResponse, **events.APIGatewayProxyResponse:
		return respAPIGateway
	case *events.APIGatewayV2HTTPResponse, **events.APIGatewayV2HTTPResponse:
		return respHTTPAPI
	case *events.ALBTargetGroupResponse, **events.ALBTargetGroupResponse:
		return respALB
	case *events.LambdaFunctionURLResponse, **events.LambdaFunctionURLResponse:
		return respFunctionURL
	case **events.LambdaFunctionURLStreamingResponse:
		return respFunctionURLStreaming
	}
	return respOther
}

// statusFromResponse reads the status code of a typed response p points to.
func statusFromResponse(k responseKind, p any) (int, bool) {
	switch k {
	case respAPIGateway:
		if r := eventOf[events.APIGatewayProxyResponse](p); r != nil {
			return r.StatusCode, true
		}
	case respHTTPAPI:
		if r := eventOf[events.APIGatewayV2HTTPResponse](p); r != nil {
			return r.StatusCode, true
		}
	case respALB:
		if r := eventOf[events.ALBTargetGroupResponse](p); r != nil {
			return r.StatusCode, true
		}
	case respFunctionURL:
		if r := eventOf[events.LambdaFunctionURLResponse](p); r != nil {
			return r.StatusCode, true
		}
	case respFunctionURLStreaming:
		// aws-lambda-go sends 200 for a status code of 0.
		if r := eventOf[events.LambdaFunctionURLStreamingResponse](p); r != nil {
			return cmp.Or(r.StatusCode, 200), true
		}
	}
	return 0, false
}

var markStatusCode = []byte(`"statusCode"`)

// streamingDelimiter ends the prelude (status code, headers, cookies) of
// a streamed function URL response
// (application/vnd.awslambda.http-integration-response).
var streamingDelimiter = []byte{0, 0, 0, 0, 0, 0, 0, 0}

// statusFromPayload reads the status code of an encoded response, or of
// the prelude of a streamed one. HTTP APIs and function URLs answer 200 to
// a response without one.
func statusFromPayload(t *trigger, out []byte) int {
	if i := bytes.Index(out, streamingDelimiter); i > 0 && out[0] == '{' {
		out = out[:i]
	}
	if bytes.Contains(out, markStatusCode) {
		var r struct {
			StatusCode int `json:"statusCode"`
		}
		if json.Unmarshal(out, &r) == nil && r.StatusCode > 0 {
			return r.StatusCode
		}
	}
	if t.http == httpV2 {
		return 200
	}
	return 0
}
