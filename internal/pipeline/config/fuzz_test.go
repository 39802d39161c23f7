package config_test

import (
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// FuzzParse fuzzes the configuration loader. Its seeds hold the merge-key
// and alias bombs and an oversized file; any input must end in a
// configuration or an error, within the expansion limit.
func FuzzParse(f *testing.F) {
	for _, s := range [][]byte{
		hostile.MergeBomb(28), hostile.MergeBomb(5), hostile.AliasBomb(9),
		[]byte("receivers:\n  otlp:\n    protocols:\n      http: {endpoint: 0.0.0.0:4318}\nexporters:\n  otlphttp:\n    endpoint: https://u:p@x.example.com?t=s\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [otlphttp]}\n"),
		[]byte("a: &a [*a]\n"), []byte("<<: {<<: {<<: {}}}\n"), []byte(":\n- - - -"), make([]byte, config.MaxFileBytes+1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, "fuzz.yaml", func(string) string { return "" })
		if err == nil && cfg == nil {
			t.Error("no configuration and no error")
		}
	})
}
