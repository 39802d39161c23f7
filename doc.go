// Package lambdaotel instruments Go AWS Lambda functions with OpenTelemetry.
//
// One line sets it up:
//
//	func main() {
//		lambdaotel.Start(handle)
//	}
//
//	func handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
//		...
//	}
//
// [Start] builds tracer, meter and logger providers from the standard
// OTEL_* environment variables (by default OTLP/HTTP to a collector or the
// lambdaotel extension on localhost:4318), with a Lambda resource
// (cloud.*, faas.*, service.name), installs them as the global providers
// with the propagators of OTEL_PROPAGATORS, wraps the handler and calls
// [lambda.Start]. Functions that build their own providers use [Wrap] (or
// [WrapHandler] for a [lambda.Handler]) and pass the result to lambda.Start.
// OTLP/gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) needs the blank import of
// package github.com/lambdaotel/lambdaotel/otlpgrpc; without it no gRPC
// exporter is linked into the function.
//
// # What an invocation records
//
// Every invocation is one span, started before the handler runs and ended
// after it returns, with faas.invocation_id (the request id),
// faas.coldstart, faas.trigger, cloud.account.id, cloud.resource_id and
// aws.lambda.invoked_arn. The trigger is chosen from the handler's event
// type, or from the payload's shape for raw handlers ([json.RawMessage],
// [lambda.Handler], any):
//
//   - API Gateway REST and HTTP APIs, Application Load Balancers and
//     function URLs: a SERVER span named "METHOD route" with the HTTP server
//     attributes of the semantic conventions (http.request.method and, for
//     a method that was not canonical, http.request.method_original,
//     http.route, url.path, url.query, url.scheme, server.address,
//     user_agent.original, client.address, network.protocol.version) and
//     http.response.status_code from the response, streamed function URL
//     responses included; a 5xx response is an error. The W3C (and X-Ray,
//     if configured) context of the request headers is the span's parent.
//   - API Gateway Lambda authorizers (TOKEN and REQUEST, payload formats
//     1.0 and 2.0): a SERVER span named after the function, faas.trigger
//     other, with lambdaotel.authorizer.* attributes and the decision of
//     the response (allow, deny, unauthorized); not an HTTP span.
//   - SQS: a CONSUMER span "<queue> process" with the messaging.*
//     attributes, messaging.batch.message_count and one link per message to
//     the context it carries (W3C message attributes, else the
//     AWSTraceHeader system attribute). [ProcessSQS] runs a function per
//     message in a span of its own and builds the partial batch response.
//   - SNS: a CONSUMER span "process <topic>" whose parent is the context in
//     the message attributes.
//   - Kinesis, Kafka (Amazon MSK and self-managed), Amazon MQ (ActiveMQ and
//     RabbitMQ): a CONSUMER span "process <destination>" with faas.trigger
//     pubsub, the broker's messaging.system, the batch's size and a link
//     per message that carries a context. [ProcessKafka],
//     [ProcessActiveMQ] and [ProcessRabbitMQ] run a function per message in
//     a span of its own.
//   - DynamoDB streams and S3 (also S3 events through EventBridge): a
//     SERVER span with faas.trigger datasource and the faas.document.*
//     attributes; [ProcessKinesis] and [ProcessDynamoDB] run a function per
//     record.
//   - EventBridge: faas.trigger pubsub, or timer (with faas.time) for
//     scheduled events.
//   - Anything else: a SERVER span named after the function, faas.trigger
//     other.
//
// Raw handlers have the trigger chosen from the top-level structure of
// the payload, never from values the user controls (headers, bodies,
// EventBridge details), so that user data cannot pass for another
// trigger's event. The spans follow the semantic conventions v1.44.0;
// the README has the table of what each trigger records.
//
// An error return sets the span's status to ERROR with error.type and an
// exception event; a panic is recorded the same way, the span is ended and
// flushed, and the panic goes on. If the handler is still running shortly
// before the invocation's deadline (see [WithDeadlineMargin]), the span is
// ended with a timeout error and flushed, since Lambda stops the function
// at the deadline.
//
// # Flush
//
// Lambda freezes the environment as soon as the function returns, so
// after the span ends, traces, metrics and logs are force-flushed before
// the response goes back to Lambda. The flush has its own budget, the
// smaller of [WithFlushTimeout] and the time left before the deadline minus
// a safety margin; it does not use the invocation's context, which may be
// about to expire. On SIGTERM (Lambda's shutdown), [Start] shuts the
// providers down.
//
// # Propagation
//
// OTEL_PROPAGATORS chooses the propagators (default "tracecontext,baggage"):
// tracecontext, baggage, xray and xray-lambda, the semantic conventions'
// propagator that takes the X-Ray context of the invocation (the trace
// header aws-lambda-go puts in the context, or _X_AMZN_TRACE_ID) when the
// event carries none. Use xray-lambda only when the traces go to AWS
// X-Ray. [InjectMessageAttributes] and [AWSTraceHeader] put the current
// context in outgoing SQS and SNS messages, so that the next function
// continues the trace.
//
// # AWS SDK calls and outgoing HTTP
//
// [InstrumentAWS] makes each call of the AWS SDK for Go v2 clients of an
// aws.Config a CLIENT span "Service.Operation" with the semantic
// conventions' attributes, and carries the context where AWS does: the
// X-Ray header on every request, the message attributes of SQS and SNS
// messages, the client context of Lambda Invoke. [HTTPClient] and
// [HTTPTransport] do the same for outgoing HTTP. [XRayPropagator],
// [ParseXRayHeader] and [XRayIDGenerator] are the library's own X-Ray
// header and trace IDs; [Annotate] marks attributes that X-Ray indexes.
//
// # Concurrency
//
// Nothing is kept per invocation outside the invocation's context, so a
// wrapped handler may run several invocations at once (Lambda Managed
// Instances with AWS_LAMBDA_MAX_CONCURRENCY > 1).
//
// # Logs
//
// [NewLogHandler] returns a [log/slog] handler that sends records to the
// OpenTelemetry logger provider, with the trace and span ids and
// faas.invocation_id of the context they are logged with.
package lambdaotel
