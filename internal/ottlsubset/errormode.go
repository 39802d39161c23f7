package ottlsubset

// ErrorMode says what an error of a condition or statement does (the
// error_mode of the collector's filter and transform processors), with the
// collector's values.
type ErrorMode string

// The error modes. ErrorIgnore is the collector's default (since
// collector-contrib v0.146).
const (
	// ErrorIgnore: the condition is not met, or the statement is skipped;
	// the error is logged.
	ErrorIgnore ErrorMode = "ignore"
	// ErrorSilent: as ErrorIgnore, without logging.
	ErrorSilent ErrorMode = "silent"
	// ErrorPropagate: the processor fails, and the batch is dropped.
	ErrorPropagate ErrorMode = "propagate"
)

// ErrorModes lists the error modes' values, for configuration messages.
var ErrorModes = []string{string(ErrorIgnore), string(ErrorSilent), string(ErrorPropagate)}
