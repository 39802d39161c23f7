package sigv4auth

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIError is an AWS API's refusal: its error code (AccessDeniedException,
// ResourceNotFoundException, ...) and message, never the request's values.
type APIError struct {
	Operation string // e.g. "secretsmanager:GetSecretValue"
	Status    int    // HTTP status
	Code      string // the AWS error code, or the HTTP status text when the body has none
	Message   string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s (HTTP %d)", e.Operation, e.Code, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// maxAnswer bounds what is read of an AWS API's answer.
const maxAnswer = 8 << 20

// Call makes one signed request and returns the answer's body when the
// status is 2xx; any other status is an *APIError with the code from a
// JSON (__type, code) or XML (<Code>) error body. operation names the call
// in errors.
func (s *Signer) Call(ctx context.Context, operation, method, u string, header http.Header, body []byte, service, region string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", operation, err)
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if err := s.Sign(ctx, req, body, service, region); err != nil {
		return nil, fmt.Errorf("%s: %v", operation, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %s %s: %v", operation, method, redactURL(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %v", operation, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return data, nil
	}
	return nil, apiError(operation, resp, data)
}

func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		p.RawQuery = ""
		return p.Redacted()
	}
	return "(invalid URL)"
}

// apiError decodes an AWS error answer.
func apiError(operation string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Operation: operation, Status: resp.StatusCode}
	var j struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
		Error   struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	switch {
	case json.Unmarshal(data, &j) == nil && (j.Type != "" || j.Code != ""):
		e.Code = firstNonEmpty(j.Type, j.Code)
		if i := strings.LastIndexByte(e.Code, '#'); i >= 0 { // "com.amazonaws...#AccessDeniedException"
			e.Code = e.Code[i+1:]
		}
		e.Message = firstNonEmpty(j.Message, j.Message2)
	case xml.Unmarshal(data, &x) == nil && (x.Code != "" || x.Error.Code != ""):
		e.Code = firstNonEmpty(x.Code, x.Error.Code)
		e.Message = firstNonEmpty(x.Message, x.Error.Message)
	default:
		e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
	}
	if x := resp.Header.Get("X-Amzn-Errortype"); x != "" && e.Code == "" {
		e.Code, _, _ = strings.Cut(x, ":")
	}
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "…"
	}
	return e
}

// AssumeRole calls STS AssumeRole (query protocol, one round trip) with
// the signer's credentials and returns the role's. The STS endpoint is
// AWS_ENDPOINT_URL_STS if set, else the signer region's.
func (s *Signer) AssumeRole(ctx context.Context, roleARN, sessionName string) (Credentials, error) {
	return s.assumeRole(ctx, roleARN, sessionName, "")
}

// assumeRole is AssumeRole with the ExternalId a third party's role may
// require ("" for none).
func (s *Signer) assumeRole(ctx context.Context, roleARN, sessionName, externalID string) (Credentials, error) {
	region := s.Region()
	form := url.Values{
		"Action":          {"AssumeRole"},
		"Version":         {"2011-06-15"},
		"RoleArn":         {roleARN},
		"RoleSessionName": {sessionName},
	}
	if externalID != "" {
		form.Set("ExternalId", externalID)
	}
	body := []byte(form.Encode())
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	op := "sts:AssumeRole " + roleARN
	data, err := s.Call(ctx, op, http.MethodPost, Endpoint(s.getenv, "STS", "sts", region)+"/", h, body, "sts", region)
	if err != nil {
		return Credentials{}, err
	}
	var doc struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string `xml:"SecretAccessKey"`
				SessionToken    string `xml:"SessionToken"`
				Expiration      string `xml:"Expiration"`
			} `xml:"Credentials"`
		} `xml:"AssumeRoleResult"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return Credentials{}, fmt.Errorf("%s: the answer is not an AssumeRoleResponse: %v", op, err)
	}
	c := doc.Result.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%s: the answer has no credentials", op)
	}
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: invalid Expiration %q", op, c.Expiration)
	}
	return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expires: exp}, nil
}
