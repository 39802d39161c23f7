package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/hostile"
	"github.com/lambdaotel/lambdaotel/pipeline/config"
)

// TestHostileConfig checks that configurations made to expand or to be
// large fail at once with an error naming the limit: merge keys nested 28
// deep used to keep init busy past Lambda's 10 s (the work doubles per
// level), a 10 MB file to take gigabytes.
func TestHostileConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"merge keys 28 deep", hostile.MergeBomb(28), "expand to more than 100000 keys"},
		{"merge keys 60 deep", hostile.MergeBomb(60), "expand to more than 100000 keys"},
		{"aliases 9 deep", hostile.AliasBomb(9), "unknown top-level section"},
		{"10 MB", []byte("# " + strings.Repeat("x", 10<<20) + "\n"), "larger than the limit of 262144 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(func(k string) string {
				if k == config.EnvConfig {
					return path
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n"); n > 51 {
				t.Errorf("error of %d lines", n)
			}
		})
	}
	// At a depth that stays under the limit, merges work as YAML says.
	cfg, err := config.Parse(hostile.MergeBomb(5), "small.yaml", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), `unknown top-level section "x0"`) {
		t.Fatalf("small merge: %v, %v", cfg, err)
	}
}
