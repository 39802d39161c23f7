package extension

import (
	"io"
	"strings"
	"sync/atomic"
)

// redactWriter replaces the configuration's secret values (resolved from
// Secrets Manager and SSM) with "[redacted]" in what the extension logs,
// should one ever reach a message, e.g. echoed in a backend's error.
type redactWriter struct {
	w io.Writer
	r atomic.Pointer[strings.Replacer]
}

// set makes secrets the values to redact.
func (w *redactWriter) set(secrets []string) {
	if len(secrets) == 0 {
		return
	}
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, "[redacted]")
	}
	w.r.Store(strings.NewReplacer(pairs...))
}

func (w *redactWriter) Write(b []byte) (int, error) {
	r := w.r.Load()
	if r == nil {
		return w.w.Write(b)
	}
	if _, err := io.WriteString(w.w, r.Replace(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
