package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/internal/layerzip"
)

// layerConfig is a valid configuration without variables.
const layerConfig = "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  otlphttp:\n    endpoint: https://otlp.example.com\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n"

// layerCmd runs `lambdaotel layer ARGS...` in dir (the repository when
// empty) with env added, within four minutes.
func layerCmd(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin := buildtest.Binary(t, "github.com/lambdaotel/lambdaotel/cmd/lambdaotel")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"layer"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=")
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("lambdaotel layer: %v", err)
	}
	return code, o.String(), e.String()
}

// TestLayerBuild builds the layer zips for both architectures twice and
// checks that they are byte for byte the same, laid out as Lambda expects
// (extensions/lambdaotel 0755 and lambdaotel/config.yaml 0644 at the root
// of the zip, one fixed timestamp), and hold a static, stripped Linux
// executable of the right architecture with the version stamped in.
func TestLayerBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the extension twice for two architectures")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(layerConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	const version = "v0.0.0-layertest"
	var outs [2]string
	for i := range outs {
		outs[i] = filepath.Join(dir, fmt.Sprintf("dist%d", i))
		code, stdout, stderr := layerCmd(t, "", nil, "build", "--arch", "x86_64,arm64", "--out", outs[i], "--config", config, "--version", version)
		if code != 0 {
			t.Fatalf("layer build: exit %d\n%s%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "extension version "+version+" (--version)") {
			t.Errorf("stdout does not say the version:\n%s", stdout)
		}
		// One line per zip, with the sizes of the zip and the extension.
		for _, arch := range []string{"x86_64", "arm64"} {
			zipPath := filepath.Join(outs[i], layerzip.ZipName(arch))
			fi, err := os.Stat(zipPath)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("%s  %d bytes (", zipPath, fi.Size()); !strings.Contains(stdout, want) {
				t.Errorf("stdout has no line %q:\n%s", want, stdout)
			}
		}
	}
	machines := map[string]elf.Machine{"x86_64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range []string{"x86_64", "arm64"} {
		a, err := os.ReadFile(filepath.Join(outs[0], layerzip.ZipName(arch)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(outs[1], layerzip.ZipName(arch)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds of the same tree differ", arch)
		}
		// The design's size budgets (sizes, not times: deterministic).
		if len(a) > 5e6 {
			t.Errorf("%s: the layer zip is %d bytes, over the 5 MB budget", arch, len(a))
		}
		if arch == "x86_64" {
			if n := len(readLayerZip(t, a, layerzip.Epoch)[layerzip.ExtensionPath]); n > 12e6 {
				t.Errorf("the stripped amd64 extension is %d bytes, over the 12 MB budget", n)
			}
		}
		files := readLayerZip(t, a, layerzip.Epoch)
		if got := string(files[layerzip.ConfigPath]); got != layerConfig {
			t.Errorf("%s: %s holds %q, want the --config file", arch, layerzip.ConfigPath, got)
		}
		checkExtension(t, arch, files[layerzip.ExtensionPath], machines[arch], version)
	}
}

// TestLayerBuildSourceDateEpoch: SOURCE_DATE_EPOCH sets every timestamp;
// without --config the zip holds the extension alone.
func TestLayerBuildSourceDateEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the extension")
	}
	out := t.TempDir()
	code, stdout, stderr := layerCmd(t, "", []string{"SOURCE_DATE_EPOCH=1700000000"}, "build", "--arch", "x86_64", "--out", out)
	if code != 0 {
		t.Fatalf("layer build: exit %d\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, layerzip.ZipName("x86_64")))
	if err != nil {
		t.Fatal(err)
	}
	files := readLayerZip(t, data, time.Unix(1700000000, 0))
	if _, ok := files[layerzip.ConfigPath]; ok || len(files) != 1 {
		t.Errorf("files %d, want the extension alone", len(files))
	}
	if _, err := os.Stat(filepath.Join(out, layerzip.ZipName("arm64"))); err == nil {
		t.Errorf("--arch x86_64 wrote an arm64 zip")
	}
}

// readLayerZip checks a layer zip's entries, modes and timestamps and
// returns its files.
func readLayerZip(t *testing.T, data []byte, modTime time.Time) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(modTime) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, modTime)
		}
		want := map[string]os.FileMode{
			"extensions/": os.ModeDir | 0o755, "lambdaotel/": os.ModeDir | 0o755,
			layerzip.ExtensionPath: 0o755, layerzip.ConfigPath: 0o644,
		}[f.Name]
		if want == 0 {
			t.Errorf("unexpected entry %s", f.Name)
			continue
		}
		if f.Mode() != want {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), want)
		}
		if f.Mode().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(names) < 2 || names[0] != "extensions/" || names[1] != layerzip.ExtensionPath {
		t.Errorf("entries %q, want extensions/ and %s first", names, layerzip.ExtensionPath)
	}
	return files
}

// checkExtension checks that exe is a static, stripped Linux executable
// for machine, built without cgo and with -trimpath, with version in it.
func checkExtension(t *testing.T, arch string, exe []byte, machine elf.Machine, version string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("%s: the extension is not an ELF file: %v", arch, err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: machine %v type %v, want %v ET_EXEC", arch, f.Machine, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has an interpreter)", arch)
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s: not stripped (has .symtab)", arch)
	}
	info, err := buildinfo.Read(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("%s: build info: %v", arch, err)
	}
	if info.Path != "github.com/lambdaotel/lambdaotel/cmd/lambdaotel-extension" {
		t.Errorf("%s: built from %s", arch, info.Path)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": layerzip.Architectures[arch], "-trimpath": "true"} {
		if settings[k] != v {
			t.Errorf("%s: build setting %s=%q, want %q", arch, k, settings[k], v)
		}
	}
	if _, ok := settings["vcs.revision"]; ok {
		t.Errorf("%s: VCS information stamped (a dirty tree would change the binary)", arch)
	}
	// -X of a misspelt variable is silently ignored: the string is then
	// nowhere in the binary.
	if !bytes.Contains(exe, []byte(version)) {
		t.Errorf("%s: version %q is not in the extension: -X did not set extension.Version", arch, version)
	}
}

// TestLayerBuildErrors: usage errors exit 2, a failed build 1, each with
// a message that says what to do; nothing is built.
func TestLayerBuildErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("exporters:\n  kafka:\n"), 0o644)
	envConfig := filepath.Join(dir, "env.yaml")
	os.WriteFile(envConfig, []byte(strings.Replace(layerConfig, "https://otlp.example.com", "${env:LAYERTEST_BACKEND}", 1)), 0o644)
	out := filepath.Join(dir, "dist")
	for _, c := range []struct {
		name string
		dir  string
		args []string
		code int
		want string
	}{
		{"no subcommand", "", nil, 2, "usage: lambdaotel layer build"},
		{"unknown subcommand", "", []string{"push"}, 2, "usage: lambdaotel layer build"},
		{"help", "", []string{"-h"}, 0, "extensions/lambdaotel      the extension (mode 0755)"},
		{"bad arch", "", []string{"build", "--arch", "amd64", "--out", out}, 2, `--arch "amd64": want x86_64 or arm64`},
		{"argument", "", []string{"build", "x86_64"}, 2, `unexpected argument "x86_64"`},
		{"bad version", "", []string{"build", "--version", "1 2", "--out", out}, 2, "--version"},
		{"missing config", "", []string{"build", "--config", filepath.Join(dir, "none.yaml"), "--out", out}, 1, "none.yaml"},
		{"invalid config", "", []string{"build", "--config", bad, "--out", out}, 1, `bad.yaml:2:3: exporters: unknown type "kafka"`},
		{"config with unset variable", "", []string{"build", "--config", envConfig, "--out", out}, 1, "or pass --no-check"},
		{"outside the repository", dir, []string{"build", "--out", out}, 1, "run it in a clone of the lambdaotel repository"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := layerCmd(t, c.dir, nil, c.args...)
			if code != c.code || !strings.Contains(stdout+stderr, c.want) {
				t.Errorf("exit %d (want %d), output:\n%s%s\nwant it to contain %q", code, c.code, stdout, stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed command created %s", out)
	}
}
