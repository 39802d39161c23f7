package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// forbidden matches the packages the extension must not link: grpc-go,
// genproto, pdata's *otlp packages (they import grpc-go) and the protobuf
// runtime (protowire alone is allowed). Linking them takes the stripped
// binary from about 9 MB to about 16 MB, over the 12 MB budget in
// DESIGN.md, and binary size is cold start. Speak gRPC with
// internal/pipeline/grpcwire instead. Of the AWS SDK only the SigV4 signer is
// linked: its configuration loading, credential chain (which probes
// files and the instance metadata service) and service clients are not;
// internal/pipeline/sigv4auth and internal/pipeline/configsource make the few calls needed.
var forbidden = regexp.MustCompile(`^(` +
	`google\.golang\.org/grpc(/.*)?` +
	`|google\.golang\.org/genproto(/.*)?` +
	`|go\.opentelemetry\.io/collector/pdata/[a-z]+/p[a-z]+otlp` +
	`|google\.golang\.org/protobuf/(proto|reflect|types|runtime|encoding/protojson|encoding/prototext)(/.*)?` +
	`|google\.golang\.org/protobuf/internal/impl` +
	`|github\.com/aws/aws-sdk-go-v2/(config|credentials|feature|service)(/.*)?` +
	`)$`)

// TestDependencyBudget fails if the extension's dependencies include a
// forbidden package, and names which package imports it.
func TestDependencyBudget(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	importers := map[string][]string{}
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if forbidden.MatchString(fields[0]) {
			bad = append(bad, fields[0])
		}
		for _, imp := range fields[1:] {
			importers[imp] = append(importers[imp], fields[0])
		}
	}
	for _, p := range bad {
		// Name the importers outside grpc-go and protobuf: where to look.
		var direct []string
		for _, imp := range importers[p] {
			if !strings.HasPrefix(imp, "google.golang.org/") {
				direct = append(direct, imp)
			}
		}
		if len(direct) > 0 {
			t.Errorf("the extension links %s, imported by %s", p, strings.Join(direct, ", "))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d forbidden packages in the extension's dependencies (see this test's doc comment); all: %s",
			len(bad), strings.Join(bad, " "))
	}
}
