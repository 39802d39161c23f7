package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/extension"
)

// TestREADMEConfigs checks that every complete configuration in README.md
// (a yaml block with a service section) passes the check of `lambdaotel
// config check` as a reader would copy it, with the variables Lambda sets
// and those the examples name: examples that drift from the code fail
// here, not on a user's first deployment.
func TestREADMEConfigs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AWS_REGION":               "eu-west-1",
		"AWS_ACCESS_KEY_ID":        "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"AWS_LAMBDA_FUNCTION_NAME": "orders",
		"API_KEY":                  "key",
	}
	lines := strings.Split(string(b), "\n")
	checked := 0
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		block := strings.Join(lines[start:i], "\n")
		if !strings.Contains(block, "\nservice:") && !strings.HasPrefix(block, "service:") {
			continue // a fragment, not a whole configuration
		}
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := extension.CheckConfig(path, func(k string) string { return env[k] }); err != nil {
			t.Errorf("README.md line %d: the configuration does not pass config check: %v", start, err)
		}
		checked++
	}
	if checked < 5 {
		t.Errorf("found %d complete configurations in README.md, want at least 5", checked)
	}
	t.Logf("%d README configurations checked", checked)
}
