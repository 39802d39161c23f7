package telemetryapireceiver

// Names from the OpenTelemetry semantic conventions, checked against
// v1.44.0 (the version of the conformance table in the README):
//
//	https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/
//	https://opentelemetry.io/docs/specs/semconv/faas/faas-exceptions/
//	https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/
//	https://opentelemetry.io/docs/specs/semconv/faas/faas-metrics/
//	https://opentelemetry.io/docs/specs/semconv/resource/faas/
//	https://opentelemetry.io/docs/specs/semconv/resource/cloud/
//	https://opentelemetry.io/docs/specs/semconv/registry/attributes/error/
//	https://opentelemetry.io/docs/specs/semconv/registry/attributes/exception/
//
// They are spelled out here rather than imported from
// go.opentelemetry.io/otel/semconv, which would pull the OpenTelemetry Go
// API into the extension.
const (
	attrServiceName     = "service.name"
	attrCloudProvider   = "cloud.provider"
	attrCloudPlatform   = "cloud.platform"
	attrCloudRegion     = "cloud.region"
	attrCloudAccountID  = "cloud.account.id"
	attrCloudResourceID = "cloud.resource_id"
	attrFaaSName        = "faas.name"
	attrFaaSVersion     = "faas.version"
	attrFaaSInstance    = "faas.instance"
	attrFaaSMaxMemory   = "faas.max_memory"

	attrFaaSInvocationID = "faas.invocation_id"
	// attrFaaSExecution is faas.invocation_id's name before semconv 1.19;
	// older SDK instrumentations still set it.
	attrFaaSExecution       = "faas.execution"
	attrFaaSColdstart       = "faas.coldstart"
	attrFaaSTrigger         = "faas.trigger"
	attrAWSLambdaInvokedARN = "aws.lambda.invoked_arn"
	attrErrorType           = "error.type"
	attrExceptionType       = "exception.type"
	attrExceptionMessage    = "exception.message"
	attrExceptionStack      = "exception.stacktrace"

	// errorTypeOther is error.type's value when the error has no type.
	errorTypeOther = "_OTHER"
	// triggerOther is faas.trigger's value when the trigger is not known:
	// the attribute is Required on the invocation span, and "other" is
	// the well-known value for "none of the others apply".
	triggerOther = "other"
	// eventInvocationException is the event name of a log record of an
	// exception that ended an invocation (the FaaS exceptions page).
	eventInvocationException = "faas.invocation.exception"
)

// Names of our own, for Lambda facts the conventions have no name for.
// The conventions own the aws.lambda.* namespace (aws.lambda.invoked_arn,
// aws.lambda.resource_mapping.id) and advise against reusing one of their
// namespaces for names of an application's own (general/naming.md,
// "Recommendations for application developers"): ours are prefixed with
// the project's name, lambdaotel.*, and durations are in seconds (the
// unit is in the data, not the name). They reuse the Telemetry API's own
// terms so that they can be looked up in the AWS documentation.
const (
	// On the invocation span: platform.runtimeDone's status and metrics.
	attrRuntimeStatus        = "lambdaotel.runtime.status"         // success, error, failure, timeout
	attrRuntimeDuration      = "lambdaotel.runtime.duration"       // s: metrics.durationMs / 1000
	attrRuntimeProducedBytes = "lambdaotel.runtime.produced_bytes" // metrics.producedBytes, when Lambda sent it

	// On the init span: platform.initStart / initRuntimeDone / initReport.
	attrInitType           = "lambdaotel.init.type"  // initializationType: on-demand, provisioned-concurrency, snap-start, lambda-managed-instances
	attrInitPhase          = "lambdaotel.init.phase" // init, or invoke for a suppressed init
	attrInitRuntimeVersion = "lambdaotel.init.runtime_version"
	attrInitDuration       = "lambdaotel.init.duration" // s: initReport metrics.durationMs / 1000

	// On log records: which stream of the Telemetry API the record came
	// from: function, extension or platform. The log semantic conventions
	// have no attribute for the writer of a line (log.iostream is
	// stdout/stderr, which Lambda merges), so this one says it.
	attrLogType = "lambdaotel.log.type"

	// On the platform.logsDropped record: what Lambda dropped.
	attrLogsDroppedRecords = "lambdaotel.logs_dropped.records"
	attrLogsDroppedBytes   = "lambdaotel.logs_dropped.bytes"
)

// Span names.
const (
	// spanInit and spanRestore name the cold-start spans after Lambda's
	// phases (INIT_START, RESTORE_START in the function's log).
	spanInit    = "init"
	spanRestore = "restore"
	// spanPostRuntime is the extensions' time after the runtime's response.
	spanPostRuntime = "post-runtime"
)

// Log types (attrLogType values).
const (
	logTypeFunction  = "function"
	logTypeExtension = "extension"
	logTypePlatform  = "platform"
)

// Telemetry API event types.
const (
	evInitStart          = "platform.initStart"
	evInitRuntimeDone    = "platform.initRuntimeDone"
	evInitReport         = "platform.initReport"
	evRestoreStart       = "platform.restoreStart"
	evRestoreRuntimeDone = "platform.restoreRuntimeDone"
	evRestoreReport      = "platform.restoreReport"
	evStart              = "platform.start"
	evRuntimeDone        = "platform.runtimeDone"
	evReport             = "platform.report"
	evLogsDropped        = "platform.logsDropped"
	evFunction           = "function"
	evExtension          = "extension"
)

// Runtime statuses (platform.runtimeDone, initRuntimeDone).
const (
	statusSuccess = "success"
	statusTimeout = "timeout"
)

// Initialization types done ahead of the first invocation: they are not a
// cold start of any invocation.
// https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
const (
	initProvisioned     = "provisioned-concurrency"
	initManagedInstance = "lambda-managed-instances"
)
