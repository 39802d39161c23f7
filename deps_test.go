package lambdaotel_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// goList runs go list with args in the module's root and returns its
// output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// deprecated reports whether the go.mod file at path marks its module
// deprecated ("// Deprecated:" in the module directive's comment).
func deprecated(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "// Deprecated:") {
			return true
		}
		if strings.HasPrefix(line, "module ") {
			return strings.Contains(line, "// Deprecated:")
		}
	}
	return false
}

// TestNoDeprecatedModules fails if the library or its examples link a
// module its makers have deprecated (otelaws, otellambda and
// propagators/aws of opentelemetry-go-contrib among them): the library
// has its own X-Ray propagator and AWS SDK instrumentation. Only the
// comparison benchmarks use them, in bench/contrib, a module of its own.
func TestNoDeprecatedModules(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, line := range goList(t, "-deps", "-f", "{{with .Module}}{{.Path}}\t{{.GoMod}}{{end}}", ".", "./examples/...") {
		path, goMod, ok := strings.Cut(line, "\t")
		if !ok || seen[path] || goMod == "" {
			continue
		}
		seen[path] = true
		if deprecated(t, goMod) {
			t.Errorf("the library or an example links %s, which is deprecated (%s); go mod why -m %s says who needs it", path, goMod, path)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("only %d modules in the library's dependencies: go list did not answer as expected", len(seen))
	}
	// They are not even in go.mod: their benchmarks are a module of their own.
	for _, m := range []string{
		"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws",
		"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda",
		"go.opentelemetry.io/contrib/propagators/aws",
	} {
		out, err := exec.Command("go", "mod", "why", "-m", m).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "does not need module") {
			t.Errorf("go mod why -m %s: %v\n%s", m, err, out)
		}
	}
}

// TestLibraryLinksNoGRPC fails if the library's package links the OTLP/gRPC
// exporters: gRPC is opt-in, through package otlpgrpc, so that a function
// that sends OTLP/HTTP (the default) does not carry them. (grpc-go's core
// packages stay linked: the SDK's OTLP/HTTP exporters import them for
// their shared configuration.) The check on otlpgrpc makes sure the test
// would see them if they were there.
func TestLibraryLinksNoGRPC(t *testing.T) {
	t.Parallel()
	exporters := map[string]bool{
		"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc":   true,
		"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc": true,
		"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc":       true,
	}
	for _, c := range []struct {
		pkg  string
		want int
	}{{".", 0}, {"./otlpgrpc", len(exporters)}} {
		var linked []string
		for _, p := range goList(t, "-deps", c.pkg) {
			if exporters[p] {
				linked = append(linked, p)
			}
		}
		if len(linked) != c.want {
			t.Errorf("%s links %d OTLP/gRPC exporters %v, want %d (go list -deps %s)", c.pkg, len(linked), linked, c.want, c.pkg)
		}
	}
}

// TestExtensionHasNoContrib fails if a contrib module enters the
// extension's binary. Which parts of the AWS SDK the extension may link
// (the SigV4 signer only) is cmd/lambdaotel-extension's dependency test.
func TestExtensionHasNoContrib(t *testing.T) {
	t.Parallel()
	for _, p := range goList(t, "-deps", "./cmd/lambdaotel-extension") {
		if strings.HasPrefix(p, "go.opentelemetry.io/contrib/") {
			t.Errorf("the extension links %s", p)
		}
	}
}

// TestDeprecatedCheck checks the check on go.mod files as the deprecated
// contrib modules have them.
func TestDeprecatedCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, c := range map[string]struct {
		text string
		want bool
	}{
		"above":  {"// Deprecated: This module is no longer supported.\nmodule go.opentelemetry.io/contrib/propagators/aws\n\ngo 1.26.0\n", true},
		"inline": {"module example.com/old // Deprecated: use example.com/new\n", true},
		"kept":   {"module go.opentelemetry.io/otel\n\ngo 1.25.0\n// Deprecated: a comment further down is not about the module\n", false},
	} {
		path := dir + "/" + name + ".mod"
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := deprecated(t, path); got != c.want {
			t.Errorf("%s: deprecated %v, want %v", name, got, c.want)
		}
	}
}
