package main

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lambdaotel/lambdaotel/internal/extension"
)

// realDir holds the corpus of real Lambda collector configurations and its
// manifest of expected outcomes.
const realDir = "../../internal/pipeline/config/testdata/real"

// realCase is one row of the manifest.
type realCase struct {
	file, env, expected string
}

// readManifest reads the table of EXPECTED.md: | file | environment | expected |.
func readManifest(t *testing.T) []realCase {
	t.Helper()
	f, err := os.Open(filepath.Join(realDir, "EXPECTED.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []realCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|") // no expectation contains "|"
		if len(cells) != 3 || !strings.HasSuffix(strings.TrimSpace(cells[0]), ".yaml") {
			continue
		}
		out = append(out, realCase{strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRealConfigs feeds every configuration of the corpus through the code
// of `lambdaotel config check` with its environment and checks the outcome
// the manifest records; it reports the pass rate (runs / valid-YAML files).
func TestRealConfigs(t *testing.T) {
	// A Secrets Manager stand-in on loopback for the files that reference
	// ${secretsmanager:...}: every GetSecretValue answers one value.
	secrets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || r.Header.Get("Authorization") == "" {
			http.Error(w, `{"__type":"AccessDeniedException"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"SecretString":"api-key-from-secrets-manager"}`))
	}))
	defer secrets.Close()

	cases := readManifest(t)
	files, err := filepath.Glob(filepath.Join(realDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range cases {
		listed[c.file] = true
	}
	var onDisk []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is in the corpus but not in EXPECTED.md", filepath.Base(f))
		}
	}
	sort.Strings(onDisk)
	if len(cases) < 20 {
		t.Errorf("the manifest lists %d configurations; want at least 20", len(cases))
	}

	var valid, runs int
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.file, ".yaml"), func(t *testing.T) {
			env := map[string]string{}
			for _, kv := range strings.Fields(c.env) {
				if kv == "LAMBDA" {
					// What Lambda sets for every function: its region and
					// the execution role's credentials.
					env["AWS_REGION"] = "us-east-1"
					env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
					env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
					env["AWS_SESSION_TOKEN"] = "session-token"
					env["AWS_LAMBDA_FUNCTION_NAME"] = "example"
					continue
				}
				if kv == "SECRETS" {
					env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = secrets.URL
					env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
					env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
					env["AWS_REGION"] = "us-east-1"
					continue
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("environment %q of %s: want NAME=VALUE or SECRETS", kv, c.file)
				}
				env[k] = v
			}
			summary, err := extension.CheckConfig(filepath.Join(realDir, c.file), func(k string) string { return env[k] })
			kind, want, _ := strings.Cut(c.expected, ":")
			want = strings.TrimSpace(want)
			switch {
			case kind == "runs" || strings.HasPrefix(c.expected, "runs, warns"):
				valid++
				if err != nil {
					t.Fatalf("%s: want it to run; config check says:\n%v", c.file, err)
				}
				runs++
				if w, ok := strings.CutPrefix(c.expected, "runs, warns: "); ok && !strings.Contains(summary, w) {
					t.Errorf("%s: want a warning containing %q; summary:\n%s", c.file, w, summary)
				}
			case kind == "refused":
				valid++
				if err == nil {
					t.Fatalf("%s: want it refused (%s); it passed:\n%s", c.file, want, summary)
				}
				for _, part := range strings.Split(want, " && ") {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("%s: want the refusal to contain %q; got:\n%v", c.file, part, err)
					}
				}
			case kind == "invalid YAML":
				if err == nil || !strings.Contains(err.Error(), "invalid YAML") || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: want invalid YAML (%s); got %v", c.file, want, err)
				}
			default:
				t.Fatalf("%s: unknown expectation %q in EXPECTED.md", c.file, c.expected)
			}
		})
	}
	t.Logf("real configurations: %d files, %d valid YAML, %d run unchanged: pass rate %d / %d", len(cases), valid, runs, runs, valid)
}
