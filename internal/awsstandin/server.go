package awsstandin

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Documented limits of the X-Ray OTLP traces endpoint (CloudWatch, "OTLP
// Endpoints": 5 MB uncompressed per request, 10,000 spans per request).
const (
	MaxUncompressedBytes = 5 << 20
	MaxSpansPerRequest   = 10000
)

// Server is the stand-in. Set its fields before Start; read what it got
// with its methods.
type Server struct {
	// Region is the region requests must be signed for.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are the credentials it
	// accepts (the function's); roles it lets assume get their own.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Secrets (Secrets Manager, by name or ARN), Parameters (SSM, by name)
	// and Objects (S3, by "bucket/key") are what it serves.
	Secrets    map[string]string
	Parameters map[string]string
	Objects    map[string][]byte
	// Roles are the role ARNs that may be assumed; RoleTTL is how long
	// their credentials last (default one hour).
	Roles   map[string]bool
	RoleTTL time.Duration
	// ExternalIDs are the ExternalId values the trust policies of roles
	// require (by role ARN); AssumeRole without it is denied.
	ExternalIDs map[string]string
	// Denied names resources (secret, parameter, "bucket/key", role ARN)
	// whose access is refused with AccessDenied.
	Denied map[string]bool
	// LogStreams are the "group/stream" pairs that exist for the
	// CloudWatch Logs OTLP endpoint.
	LogStreams map[string]bool
	// ContainerToken, when set, makes GET /container-credentials answer
	// as Lambda's container credentials endpoint
	// (AWS_CONTAINER_CREDENTIALS_FULL_URI) with the function's
	// credentials, to requests whose Authorization is this token.
	ContainerToken string

	// URL is the server's base URL once started.
	URL string

	srv          *http.Server
	mu           sync.Mutex
	reqs         []Request
	traces       []ptrace.Traces
	logs         []plog.Logs
	metrics      []pmetric.Metrics
	remoteWrites [][]byte
	issued       map[string]credential
}

// Request is what the stand-in recorded of one request.
type Request struct {
	Service   string // signing name: xray, logs, monitoring, aps, sts, secretsmanager, ssm, s3
	Operation string // e.g. "GetSecretValue", "POST /v1/traces"
	Status    int
	Code      string // the AWS error code when Status is not 2xx
	Message   string
	Header    http.Header
	// AccessKey is the key that signed it (verified when Status is 2xx).
	AccessKey string
}

// Start listens on a loopback port.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.URL = "http://" + ln.Addr().String()
	s.issued = map[string]credential{}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Traces, Logs and Metrics return what the OTLP endpoints accepted.
func (s *Server) Traces() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.traces...)
}

// Logs returns the logs the CloudWatch Logs endpoint accepted.
func (s *Server) Logs() []plog.Logs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.Logs(nil), s.logs...)
}

// Metrics returns the metrics the CloudWatch metrics endpoint accepted.
func (s *Server) Metrics() []pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pmetric.Metrics(nil), s.metrics...)
}

// RemoteWrites returns the bodies of the remote write requests the
// Amazon Managed Service for Prometheus endpoint accepted, decompressed:
// each a protobuf prometheus.WriteRequest, for the test to decode.
func (s *Server) RemoteWrites() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.remoteWrites...)
}

func (s *Server) creds(key string) (credential, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == s.AccessKeyID {
		return credential{secret: s.SecretAccessKey, token: s.SessionToken}, true
	}
	c, ok := s.issued[key]
	return c, ok
}

// protocol is how a service answers errors.
type protocol int

const (
	jsonProtocol  protocol = iota // awsJson1.1 and restJson: {"__type", "message"}
	queryProtocol                 // STS: <ErrorResponse><Error>
	restXML                       // S3: <Error>
)

// answer is the outcome of a handler.
type answer struct {
	status      int
	code, msg   string
	body        []byte
	contentType string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/container-credentials" && s.ContainerToken != "" {
		s.containerCredentials(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	service, op, proto := classify(r, body)
	rec := Request{Service: service, Operation: op, Header: r.Header.Clone()}
	var a answer
	if auth, err := verify(r, body, service, s.Region, s.creds, time.Now()); err != nil {
		se := err.(*sigError)
		status := http.StatusForbidden
		if se.Code == "IncompleteSignatureException" || se.Code == "MissingAuthenticationTokenException" {
			status = http.StatusBadRequest
		}
		a = answer{status: status, code: se.Code, msg: se.Message}
	} else {
		rec.AccessKey = auth.AccessKey
		a = s.handle(r, body, service, op)
	}
	rec.Status, rec.Code, rec.Message = a.status, a.code, a.msg
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
	if a.status >= 300 {
		writeError(w, proto, a)
		return
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

// classify tells the service, operation and error protocol of a request
// from its shape, as AWS's front ends route by host.
func classify(r *http.Request, body []byte) (service, op string, p protocol) {
	switch {
	case r.URL.Path == "/v1/traces":
		return "xray", "POST /v1/traces", jsonProtocol
	case r.URL.Path == "/v1/logs":
		return "logs", "POST /v1/logs", jsonProtocol
	case r.URL.Path == "/v1/metrics":
		return "monitoring", "POST /v1/metrics", jsonProtocol
	case strings.HasPrefix(r.URL.Path, "/workspaces/") && strings.HasSuffix(r.URL.Path, "/api/v1/remote_write"):
		return "aps", "RemoteWrite", jsonProtocol
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, op, _ := strings.Cut(t, ".")
		switch prefix {
		case "secretsmanager":
			return "secretsmanager", op, jsonProtocol
		case "AmazonSSM":
			return "ssm", op, jsonProtocol
		}
		return "unknown", t, jsonProtocol
	}
	if r.Method == http.MethodPost {
		if q, err := url.ParseQuery(string(body)); err == nil && q.Get("Action") != "" {
			return "sts", q.Get("Action"), queryProtocol
		}
	}
	return "s3", r.Method + "Object", restXML
}

func writeError(w http.ResponseWriter, p protocol, a answer) {
	switch p {
	case queryProtocol:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>", a.code, xmlEscape(a.msg), newID(16))
	case restXML:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>", a.code, xmlEscape(a.msg), newID(8))
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", a.code)
		w.WriteHeader(a.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": a.code, "message": a.msg})
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func bad(code, format string, args ...any) answer {
	return answer{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) handle(r *http.Request, body []byte, service, op string) answer {
	switch service {
	case "xray", "logs", "monitoring":
		return s.otlp(r, body, service)
	case "aps":
		return s.remoteWrite(r, body)
	case "secretsmanager":
		return s.secretsManager(r, body, op)
	case "ssm":
		return s.ssm(r, body, op)
	case "sts":
		return s.sts(r, body, op)
	case "s3":
		return s.s3(r, op)
	}
	return bad("UnknownOperationException", "unknown operation %s", op)
}

// otlp answers an OTLP/HTTP export as the CloudWatch OTLP endpoints do.
func (s *Server) otlp(r *http.Request, body []byte, service string) answer {
	if r.Method != http.MethodPost {
		return answer{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", msg: "only POST"}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-protobuf" && ct != "application/json" {
		return answer{status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaTypeException", msg: "payload format must be binary (application/x-protobuf) or json"}
	}
	data := body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return bad("ValidationException", "invalid gzip body: %v", err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, MaxUncompressedBytes+1)); err != nil {
			return bad("ValidationException", "invalid gzip body: %v", err)
		}
	default:
		return answer{status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaTypeException", msg: "compression must be gzip or none, got " + enc}
	}
	if len(data) > MaxUncompressedBytes {
		return answer{status: http.StatusRequestEntityTooLarge, code: "PayloadTooLargeException", msg: "request exceeds 5 MB uncompressed"}
	}
	isJSON := ct == "application/json"
	switch service {
	case "xray":
		var td ptrace.Traces
		var err error
		if isJSON {
			td, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
		} else {
			td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
		}
		if err != nil {
			return bad("ValidationException", "cannot decode ExportTraceServiceRequest: %v", err)
		}
		if n := td.SpanCount(); n > MaxSpansPerRequest {
			return bad("ValidationException", "%d spans in one request; the limit is 10,000", n)
		}
		s.mu.Lock()
		s.traces = append(s.traces, td)
		s.mu.Unlock()
	case "logs":
		group, stream := r.Header.Get("X-Aws-Log-Group"), r.Header.Get("X-Aws-Log-Stream")
		if group == "" || stream == "" {
			return bad("ValidationException", "x-aws-log-group and x-aws-log-stream headers are required")
		}
		if !s.LogStreams[group+"/"+stream] {
			return bad("ResourceNotFoundException", "The specified log group or log stream does not exist.")
		}
		var ld plog.Logs
		var err error
		if isJSON {
			ld, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(data)
		} else {
			ld, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
		}
		if err != nil {
			return bad("ValidationException", "cannot decode ExportLogsServiceRequest: %v", err)
		}
		s.mu.Lock()
		s.logs = append(s.logs, ld)
		s.mu.Unlock()
	case "monitoring":
		var md pmetric.Metrics
		var err error
		if isJSON {
			md, err = (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(data)
		} else {
			md, err = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(data)
		}
		if err != nil {
			return bad("ValidationException", "cannot decode ExportMetricsServiceRequest: %v", err)
		}
		s.mu.Lock()
		s.metrics = append(s.metrics, md)
		s.mu.Unlock()
	}
	ctOut := "application/x-protobuf"
	out := []byte{} // an empty Export*ServiceResponse: full success
	if isJSON {
		ctOut, out = "application/json", []byte("{}")
	}
	return answer{status: http.StatusOK, body: out, contentType: ctOut}
}

// remoteWrite answers Amazon Managed Service for Prometheus' RemoteWrite:
// a snappy-compressed (block format) protobuf WriteRequest with the
// remote write headers, answered 200 with an empty body.
func (s *Server) remoteWrite(r *http.Request, body []byte) answer {
	if r.Method != http.MethodPost {
		return answer{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", msg: "only POST"}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return answer{status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaTypeException", msg: "Content-Type must be application/x-protobuf, got " + ct}
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "snappy" {
		return bad("ValidationException", "Content-Encoding must be snappy, got %q", enc)
	}
	if v := r.Header.Get("X-Prometheus-Remote-Write-Version"); v != "0.1.0" {
		return bad("ValidationException", "X-Prometheus-Remote-Write-Version must be 0.1.0, got %q", v)
	}
	data, err := snappy.Decode(nil, body)
	if err != nil {
		return bad("ValidationException", "body is not snappy block format: %v", err)
	}
	s.mu.Lock()
	s.remoteWrites = append(s.remoteWrites, data)
	s.mu.Unlock()
	return answer{status: http.StatusOK}
}

// jsonRequest checks an awsJson1.1 request's content type and decodes it.
func jsonRequest(r *http.Request, body []byte, v any) *answer {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		a := bad("SerializationException", "Content-Type must be application/x-amz-json-1.1, got %q", ct)
		return &a
	}
	if err := json.Unmarshal(body, v); err != nil {
		a := bad("SerializationException", "invalid JSON body: %v", err)
		return &a
	}
	return nil
}

func (s *Server) secretsManager(r *http.Request, body []byte, op string) answer {
	if op != "GetSecretValue" {
		return bad("UnknownOperationException", "unknown operation %s", op)
	}
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionStage string
	}
	if a := jsonRequest(r, body, &in); a != nil {
		return *a
	}
	if in.SecretID == "" {
		return bad("InvalidParameterException", "SecretId is required")
	}
	if s.Denied[in.SecretID] {
		return bad("AccessDeniedException", "User is not authorized to perform: secretsmanager:GetSecretValue on resource: %s", in.SecretID)
	}
	v, ok := s.Secrets[in.SecretID]
	if !ok {
		return bad("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	name := in.SecretID
	if i := strings.LastIndex(name, ":secret:"); i >= 0 {
		name = name[i+len(":secret:"):]
	}
	out, _ := json.Marshal(map[string]any{
		"ARN": "arn:aws:secretsmanager:" + s.Region + ":123456789012:secret:" + name, "Name": name,
		"SecretString": v, "VersionId": newID(16), "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
	return answer{status: http.StatusOK, body: out, contentType: "application/x-amz-json-1.1"}
}

func (s *Server) ssm(r *http.Request, body []byte, op string) answer {
	if op != "GetParameter" {
		return bad("UnknownOperationException", "unknown operation %s", op)
	}
	var in struct {
		Name           string
		WithDecryption bool
	}
	if a := jsonRequest(r, body, &in); a != nil {
		return *a
	}
	if in.Name == "" {
		return bad("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if s.Denied[in.Name] {
		return bad("AccessDeniedException", "User is not authorized to perform: ssm:GetParameter on resource: %s", in.Name)
	}
	v, ok := s.Parameters[in.Name]
	if !ok {
		return bad("ParameterNotFound", "")
	}
	if !in.WithDecryption {
		v = "AQICAH" + hex.EncodeToString([]byte(v)) // what an encrypted SecureString looks like without decryption
	}
	out, _ := json.Marshal(map[string]any{"Parameter": map[string]any{
		"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1,
		"ARN": "arn:aws:ssm:" + s.Region + ":123456789012:parameter" + in.Name, "DataType": "text",
	}})
	return answer{status: http.StatusOK, body: out, contentType: "application/x-amz-json-1.1"}
}

func (s *Server) sts(r *http.Request, body []byte, op string) answer {
	q, _ := url.ParseQuery(string(body))
	if op != "AssumeRole" {
		return bad("InvalidAction", "Could not find operation %s for version %s", op, q.Get("Version"))
	}
	if q.Get("Version") != "2011-06-15" {
		return bad("InvalidAction", "Could not find operation AssumeRole for version %s", q.Get("Version"))
	}
	role, session := q.Get("RoleArn"), q.Get("RoleSessionName")
	if n := len(session); n < 2 || n > 64 {
		return bad("ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64")
	}
	if want, ok := s.ExternalIDs[role]; ok && q.Get("ExternalId") != want {
		return answer{status: http.StatusForbidden, code: "AccessDenied", msg: "User is not authorized to perform: sts:AssumeRole on resource: " + role + " (ExternalId does not match)"}
	}
	if s.Denied[role] || !s.Roles[role] {
		return answer{status: http.StatusForbidden, code: "AccessDenied", msg: "User is not authorized to perform: sts:AssumeRole on resource: " + role}
	}
	ttl := s.RoleTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	key, secret, token := "ASIA"+strings.ToUpper(newID(8)), newID(20), newID(32)
	exp := time.Now().Add(ttl).UTC()
	s.mu.Lock()
	s.issued[key] = credential{secret: secret, token: token, expires: exp}
	s.mu.Unlock()
	out := fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		xmlEscape(role), xmlEscape(session), xmlEscape(session), key, secret, token, exp.Format(time.RFC3339), newID(16))
	return answer{status: http.StatusOK, body: []byte(out), contentType: "text/xml"}
}

func (s *Server) s3(r *http.Request, op string) answer {
	if r.Method != http.MethodGet {
		return answer{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", msg: "The specified method is not allowed against this resource."}
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	if host, _, _ := net.SplitHostPort(r.Host); host != "" && host != "127.0.0.1" && host != "localhost" {
		if bucket, _, ok := strings.Cut(host, ".s3"); ok { // virtual-hosted style
			key = bucket + "/" + key
		}
	}
	if s.Denied[key] {
		return answer{status: http.StatusForbidden, code: "AccessDenied", msg: "Access Denied"}
	}
	v, ok := s.Objects[key]
	if !ok {
		return answer{status: http.StatusNotFound, code: "NoSuchKey", msg: "The specified key does not exist."}
	}
	return answer{status: http.StatusOK, body: v, contentType: "application/octet-stream"}
}

// containerCredentials answers as the container credentials endpoint.
func (s *Server) containerCredentials(w http.ResponseWriter, r *http.Request) {
	rec := Request{Service: "container-credentials", Operation: "GET /container-credentials", Header: r.Header.Clone()}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != s.ContainerToken {
		rec.Status, rec.Code = http.StatusUnauthorized, "InvalidToken"
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"Code": "InvalidToken", "Message": "the authorization token is not valid"})
	} else {
		rec.Status = http.StatusOK
		json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": s.AccessKeyID, "SecretAccessKey": s.SecretAccessKey, "Token": s.SessionToken,
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
}
