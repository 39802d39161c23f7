// Package container_test proves the container-image install path of
// Dockerfile without a Docker engine: it lays the image's files out as the
// Dockerfile does and runs them in the local Lambda environment.
package container_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/lambdatest"
	"github.com/lambdaotel/lambdaotel/internal/layerzip"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

func TestMain(m *testing.M) {
	code := m.Run()
	buildtest.Cleanup()
	os.Exit(code)
}

// lambdaArch is Lambda's name for this machine's architecture.
func lambdaArch(t *testing.T) string {
	for name, goarch := range layerzip.Architectures {
		if goarch == runtime.GOARCH {
			return name
		}
	}
	t.Skipf("Lambda has no %s architecture", runtime.GOARCH)
	return ""
}

// dockerfile is what the test reads from Dockerfile.
type dockerfile struct {
	base       string // the final stage's FROM
	layerCopy  string // the source of the COPY to /opt/, with ${TARGETARCH}
	goBuild    string // the build stage's RUN ... go build ... -o fnBuilt ...
	fnBuilt    string // the function as the build stage writes it
	fnPath     string // where the final stage puts it
	entrypoint string // the image's ENTRYPOINT
}

// readDockerfile parses the instructions of Dockerfile that the test
// reproduces, failing if any is missing.
func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch strings.ToUpper(f[0]) {
		case "FROM":
			d.base = f[len(f)-1]
			if len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				d.base = f[len(f)-3]
			}
		case "RUN":
			if i := strings.Index(line, "go build"); i >= 0 {
				d.goBuild = strings.TrimSpace(line[len("RUN"):])
				for k := range f {
					if f[k] == "-o" && k+1 < len(f) {
						d.fnBuilt = f[k+1]
					}
				}
			}
		case "COPY":
			switch {
			case len(f) == 3 && f[2] == "/opt/":
				d.layerCopy = f[1]
			case len(f) == 4 && f[1] == "--from=build":
				if f[2] != d.fnBuilt {
					t.Errorf("Dockerfile copies %s from the build stage, which builds %s", f[2], d.fnBuilt)
				}
				d.fnPath = f[3]
			}
		case "ENTRYPOINT":
			var ep []string
			if err := json.Unmarshal([]byte(strings.TrimSpace(line[len("ENTRYPOINT"):])), &ep); err != nil || len(ep) != 1 {
				t.Fatalf("Dockerfile: %s: want the exec form with the function alone", line)
			}
			d.entrypoint = ep[0]
		}
	}
	switch {
	case d.base != "public.ecr.aws/lambda/provided:al2023":
		t.Errorf("Dockerfile's image is based on %q, want provided.al2023", d.base)
	case d.layerCopy == "" || d.goBuild == "" || d.fnPath == "" || d.entrypoint == "":
		t.Fatalf("Dockerfile lacks an instruction the test reproduces: %+v", d)
	case d.entrypoint != d.fnPath:
		t.Errorf("ENTRYPOINT %s, but the function is copied to %s", d.entrypoint, d.fnPath)
	}
	return d
}

// TestContainerImage builds the layer zip with `lambdaotel layer build`
// (with a config, as lambdaotel/config.yaml), unpacks it as the README says
// (unzip -d dist/layer-<arch>), copies it into an image directory's /opt
// as Dockerfile's COPY does, builds the function with Dockerfile's own
// go build line into /var/task, and runs the image's ENTRYPOINT in the
// sandbox with that /opt: the function's spans, the extension's platform
// spans (carrying the version stamped into the extension) and the
// function's logs reach the sink.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the extension and the function")
	}
	d := readDockerfile(t)
	arch := lambdaArch(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository's root: %v", err)
	}
	// The extension reads /opt/lambdaotel/config.yaml when no variable
	// names a file: where the layer's config lands.
	if "/opt/"+layerzip.ConfigPath != config.DefaultConfigFile {
		t.Fatalf("the layer's config is at /opt/%s, the extension reads %s", layerzip.ConfigPath, config.DefaultConfigFile)
	}

	s := lambdatest.StartSink(t, nil)
	grpcPort, httpPort := lambdatest.FreePort(t), lambdatest.FreePort(t)
	vars := map[string]string{
		"CONTAINERTEST_GRPC_PORT": strconv.Itoa(grpcPort),
		"CONTAINERTEST_HTTP_PORT": strconv.Itoa(httpPort),
		"CONTAINERTEST_BACKEND":   s.HTTPAddr(),
	}

	// bin/lambdaotel layer build --arch <arch> --config ...; the config is
	// checked with the variables set, as the function will have them.
	dir := t.TempDir()
	dist := filepath.Join(dir, "dist")
	const version = "v0.0.0-containertest"
	cli := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "layer", "build", "--arch", arch, "--out", dist,
		"--config", filepath.Join("testdata", "config.yaml"), "--version", version)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lambdaotel layer build: %v\n%s", err, out)
	}

	// unzip -o dist/lambdaotel-extension-<arch>.zip -d dist/layer-<goarch>
	unpacked := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(d.layerCopy, "${TARGETARCH}", runtime.GOARCH)))
	if want := "dist/layer-" + runtime.GOARCH + "/"; strings.ReplaceAll(d.layerCopy, "${TARGETARCH}", runtime.GOARCH) != want {
		t.Fatalf("Dockerfile copies %s to /opt/, want %s (where the README unzips the layer)", d.layerCopy, want)
	}
	if err := layerzip.Extract(filepath.Join(dist, layerzip.ZipName(arch)), unpacked); err != nil {
		t.Fatal(err)
	}
	// COPY dist/layer-${TARGETARCH}/ /opt/: the directory's contents, with
	// their modes, into the image's /opt (empty in the base image).
	image := filepath.Join(dir, "image")
	opt := filepath.Join(image, "opt")
	copyTree(t, unpacked, opt)
	for p, want := range map[string]fs.FileMode{"extensions/lambdaotel": 0o755, "lambdaotel/config.yaml": 0o644} {
		if fi, err := os.Stat(filepath.Join(opt, p)); err != nil || fi.Mode() != want {
			t.Fatalf("/opt/%s: %v, want mode %v", p, err, want)
		}
	}

	// RUN ... go build ... -o /out/bootstrap ./examples/apigateway, then
	// COPY --from=build /out/bootstrap /var/task/bootstrap.
	fn := filepath.Join(image, filepath.FromSlash(d.fnPath))
	if err := os.MkdirAll(filepath.Dir(fn), 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, "sh", "-c", strings.Replace(d.goBuild, "-o "+d.fnBuilt, "-o '"+fn+"'", 1))
	build.Dir = root
	build.Env = append(os.Environ(), "TARGETARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's go build: %v\n%s", err, out)
	}

	// The image: ENTRYPOINT with /var/task and /opt.
	logs := &lambdatest.LogBuffer{}
	env := map[string]string{
		// /opt/lambdaotel/config.yaml, where the sandbox's /opt is.
		"LAMBDAOTEL_CONFIG": filepath.Join(opt, filepath.FromSlash(layerzip.ConfigPath)),
		// The function's SDK sends to the extension.
		"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
	}
	for k, v := range vars {
		env[k] = v
	}
	sb := lambdatest.StartSandbox(t, sandbox.Config{
		TaskRoot:     filepath.Join(image, "var", "task"),
		Command:      []string{filepath.Join(image, filepath.FromSlash(d.entrypoint))},
		Layers:       []string{opt},
		FunctionName: "pets",
		Architecture: arch,
		Env:          env,
	}, logs)
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			sink.PrintTraces(&b, s.Traces())
			t.Logf("traces at the sink:\n%s", b.String())
		}
	})

	for k, c := range []struct {
		event  string
		status int
	}{{"pet7.json", 200}, {"pet42.json", 404}} {
		event, err := os.ReadFile(filepath.Join("..", "apigateway", "events", c.event))
		if err != nil {
			t.Fatal(err)
		}
		res := lambdatest.Invoke(t, sb, string(event))
		if res.Error != nil {
			t.Fatalf("%s: %v", c.event, res.Error)
		}
		if k == 0 {
			// aws-lambda-go registers an internal extension of its own.
			var names []string
			ready := false
			for _, x := range res.Init.Extensions {
				names = append(names, x.Name+" "+x.State)
				ready = ready || x.Name == "lambdaotel" && x.State == "Ready"
			}
			if !ready {
				t.Errorf("extensions at init: %q, want lambdaotel Ready (from /opt/extensions/lambdaotel)", names)
			}
		}
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.StatusCode != c.status {
			t.Fatalf("%s: response %s (%v), want status %d", c.event, res.Payload, err, c.status)
		}
		checkTrace(t, s, res.RequestID, version)
	}
	var bodies []string
	for _, ld := range s.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					bodies = append(bodies, r.Body().AsString())
				}
			}
		}
	}
	for _, want := range []string{"pet found", "pet not found"} {
		if !slices.Contains(bodies, want) {
			t.Errorf("log records at the sink %q, want one %q", bodies, want)
		}
	}
}

// checkTrace waits for the invocation's spans at the sink: the function's
// server span with its child, under the extension's platform span, whose
// scope version is the version `layer build` stamped in.
func checkTrace(t *testing.T, s *sink.Sink, requestID, version string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var server, platform, child bool
	var platformVersion string
	err := s.Wait(ctx, func() bool {
		server, platform, child, platformVersion = false, false, false, ""
		var serverID, platformID string
		var spans []ptrace.Span
		var versions []string
		for _, td := range s.Traces() {
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, sp := range ss.Spans().All() {
						spans = append(spans, sp)
						versions = append(versions, ss.Scope().Name()+"@"+ss.Scope().Version())
					}
				}
			}
		}
		for i, sp := range spans {
			id, _ := sp.Attributes().Get("faas.invocation_id")
			if id.Str() != requestID {
				continue
			}
			switch {
			case sp.Name() == "GET /pets/{petId}" && sp.Kind() == ptrace.SpanKindServer:
				server, serverID = true, sp.SpanID().String()
			case sp.Name() == "pets" && strings.HasPrefix(versions[i], "lambdaotel/telemetryapi@"):
				platform, platformID = true, sp.SpanID().String()
				platformVersion = strings.TrimPrefix(versions[i], "lambdaotel/telemetryapi@")
			}
		}
		parentOK := false
		for _, sp := range spans {
			if sp.Name() == "load pet" && sp.ParentSpanID().String() == serverID && serverID != "" {
				child = true
			}
			if sp.SpanID().String() == serverID && sp.ParentSpanID().String() == platformID && platformID != "" {
				parentOK = true
			}
		}
		return server && platform && child && parentOK
	})
	if err != nil {
		t.Errorf("request %s: server span %v, its child %v, platform span %v, the platform span its parent: %v", requestID, server, child, platform, err)
	}
	if platform && platformVersion != version {
		t.Errorf("the platform span's scope version is %q, want %q (stamped by layer build)", platformVersion, version)
	}
}

// copyTree copies the directory src's contents into dst with their modes,
// as Docker's COPY of a directory does.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, fi.Mode().Perm())
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Chmod(fi.Mode().Perm()); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
