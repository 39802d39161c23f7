package lambdaotel

import (
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// API Gateway Lambda authorizers
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html)
// are invoked by API Gateway to decide whether a request may reach its
// integration. The invocation does not answer the HTTP request (API
// Gateway does, or the integration), so it is not an HTTP server span: it
// is the FaaS server span of the conventions, named after the function,
// with faas.trigger other, attributes of its own and the decision the
// function returned. The request's W3C context (in the headers of REQUEST
// authorizers) is its parent, as it is the integration's: both are parts of
// the same request.

// Attributes of authorizer invocations, under the library's namespace:
// the semantic conventions have none for them.
const (
	// attrAuthorizerType is TOKEN or REQUEST.
	attrAuthorizerType = attribute.Key("lambdaotel.authorizer.type")
	// attrAuthorizerPayloadVersion is the payload format version of an
	// HTTP API authorizer ("1.0" or "2.0"); REST APIs have none.
	attrAuthorizerPayloadVersion = attribute.Key("lambdaotel.authorizer.payload_format_version")
	// attrAuthorizerResource is the methodArn (REST APIs, HTTP API 1.0)
	// or routeArn (HTTP API 2.0) the request is for.
	attrAuthorizerResource = attribute.Key("lambdaotel.authorizer.resource_arn")
	// attrAuthorizerDecision is the decision of the response: allow or
	// deny (a policy with an Allow statement and no Deny one; the simple
	// response's isAuthorized), or unauthorized (the "Unauthorized" error
	// API Gateway answers 401 to).
	attrAuthorizerDecision = attribute.Key("lambdaotel.authorizer.decision")
)

// setAuthorizer makes t an authorizer invocation.
func (t *trigger) setAuthorizer(typ, version, resource string, headers headerCarrier) {
	t.kind = trace.SpanKindServer
	t.authorizer = true
	t.add(semconv.FaaSTriggerOther, attrAuthorizerType.String(typ))
	if version != "" {
		t.add(attrAuthorizerPayloadVersion.String(version))
	}
	if resource != "" {
		t.add(attrAuthorizerResource.String(resource))
	}
	if len(headers.one) > 0 || len(headers.multi) > 0 {
		t.carrier = headers
	}
}

// authToken: a REST API TOKEN authorizer.
func (t *trigger) authToken(e *events.APIGatewayCustomAuthorizerRequest) {
	t.setAuthorizer(first(e.Type, "TOKEN"), "", e.MethodArn, headerCarrier{})
}

// authRequest: a REST API REQUEST authorizer.
func (t *trigger) authRequest(e *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
	t.setAuthorizer(first(e.Type, "REQUEST"), "", e.MethodArn, headerCarrier{one: e.Headers, multi: e.MultiValueHeaders})
}

// authHTTPAPIv1: an HTTP API authorizer with payload format 1.0.
func (t *trigger) authHTTPAPIv1(e *events.APIGatewayV2CustomAuthorizerV1Request) {
	t.setAuthorizer(first(e.Type, "REQUEST"), first(e.Version, "1.0"), e.MethodArn, headerCarrier{one: e.Headers})
}

// authHTTPAPIv2: an HTTP API authorizer with payload format 2.0.
func (t *trigger) authHTTPAPIv2(e *events.APIGatewayV2CustomAuthorizerV2Request) {
	t.setAuthorizer(first(e.Type, "REQUEST"), first(e.Version, "2.0"), e.RouteArn, headerCarrier{one: e.Headers})
}

// tryAuthorizer: the authorizer events, whose top level has a type (TOKEN
// or REQUEST) and a methodArn or routeArn, which no other event has.
func (c *core) tryAuthorizer(t *trigger, top *payloadShape, payload []byte) bool {
	typ := top.Type
	if typ != "TOKEN" && typ != "REQUEST" {
		return false
	}
	method, route, version := bool(top.MethodArn), bool(top.RouteArn), top.Version
	switch {
	case route && version == "2.0":
		var e events.APIGatewayV2CustomAuthorizerV2Request
		if json.Unmarshal(payload, &e) == nil {
			t.authHTTPAPIv2(&e)
			return true
		}
	case method && typ == "TOKEN":
		var e events.APIGatewayCustomAuthorizerRequest
		if json.Unmarshal(payload, &e) == nil {
			t.authToken(&e)
			return true
		}
	case method && version != "":
		var e events.APIGatewayV2CustomAuthorizerV1Request
		if json.Unmarshal(payload, &e) == nil {
			t.authHTTPAPIv1(&e)
			return true
		}
	case method:
		var e events.APIGatewayCustomAuthorizerRequestTypeRequest
		if json.Unmarshal(payload, &e) == nil {
			t.authRequest(&e)
			return true
		}
	}
	return false
}

// authorizerDecision is the decision attribute of an authorizer's encoded
// response, or false if the response has none.
func authorizerDecision(out []byte) (attribute.KeyValue, bool) {
	var r struct {
		IsAuthorized *bool `json:"isAuthorized"`
		Policy       *struct {
			Statement []struct {
				Effect string `json:"Effect"`
			} `json:"Statement"`
		} `json:"policyDocument"`
	}
	if json.Unmarshal(out, &r) != nil {
		return attribute.KeyValue{}, false
	}
	switch {
	case r.IsAuthorized != nil:
		return attrAuthorizerDecision.String(decision(*r.IsAuthorized)), true
	case r.Policy != nil:
		allow := false
		for _, s := range r.Policy.Statement {
			switch s.Effect {
			case "Deny":
				return attrAuthorizerDecision.String("deny"), true
			case "Allow":
				allow = true
			}
		}
		return attrAuthorizerDecision.String(decision(allow)), true
	}
	return attribute.KeyValue{}, false
}

func decision(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// authorizerErrorDecision is the decision attribute of an authorizer that
// returned err: API Gateway answers 401 to the error "Unauthorized".
func authorizerErrorDecision(err error) (attribute.KeyValue, bool) {
	if err != nil && err.Error() == "Unauthorized" {
		return attrAuthorizerDecision.String("unauthorized"), true
	}
	return attribute.KeyValue{}, false
}
