package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lambdaotel/lambdaotel/internal/extension"
	"github.com/lambdaotel/lambdaotel/internal/layerzip"
)

const layerUsage = `usage: lambdaotel layer build [--arch x86_64,arm64] [--out DIR] [--config FILE [--no-check]] [--version V]

Builds the lambdaotel extension for each architecture (CGO disabled,
-trimpath, stripped, version stamped) and writes the layer zip
DIR/lambdaotel-extension-<arch>.zip, holding

  extensions/lambdaotel      the extension (mode 0755)
  lambdaotel/config.yaml     with --config: FILE, read by the extension as
                             /opt/lambdaotel/config.yaml (mode 0644)

The zips are reproducible: the same source, Go version and config give the
same bytes (timestamps 1980-01-01 00:00:00 UTC, or SOURCE_DATE_EPOCH; fixed
modes and order). Prints each zip's size and the extension's. Run it in a
clone of the lambdaotel repository, with the Go toolchain on PATH.

The version stamped into the extension is --version, else "git describe
--tags --always --dirty" of the repository, else "dev".

flags:
`

// modulePath is the module whose extension the command builds.
const modulePath = "github.com/lambdaotel/lambdaotel"

func layerMain(args []string) int {
	fs := flag.NewFlagSet("layer build", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), layerUsage)
		fs.PrintDefaults()
	}
	var (
		archs   = fs.String("arch", "x86_64,arm64", "the Lambda architectures to build, comma-separated: x86_64, arm64")
		out     = fs.String("out", "dist", "write the zips to `DIR` (created if missing)")
		config  = fs.String("config", "", "put `FILE` in the layer as lambdaotel/config.yaml (checked first, as \"config check\" does)")
		noCheck = fs.Bool("no-check", false, "with --config, do not check the file (for a file whose ${env:VAR} are set only in the function)")
		version = fs.String("version", "", "the `VERSION` to stamp into the extension (default: git describe, else \"dev\")")
	)
	if len(args) == 0 || args[0] != "build" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.SetOutput(os.Stdout)
			fs.Usage()
			return 0
		}
		fs.Usage()
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "lambdaotel layer build: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	b := &layerBuild{out: *out, stdout: os.Stdout, stderr: os.Stderr}
	for _, a := range strings.Split(*archs, ",") {
		a = strings.TrimSpace(a)
		if layerzip.Architectures[a] == "" {
			fmt.Fprintf(os.Stderr, "lambdaotel layer build: --arch %q: want x86_64 or arm64 (Lambda's names)\n", a)
			return 2
		}
		if !slices.Contains(b.archs, a) {
			b.archs = append(b.archs, a)
		}
	}
	if *version != "" && !usableVersion(*version) {
		fmt.Fprintf(os.Stderr, "lambdaotel layer build: --version %q: want one word, without quotes\n", *version)
		return 2
	}
	if *config != "" {
		data, err := os.ReadFile(*config)
		if err != nil {
			fmt.Fprintf(os.Stderr, "lambdaotel layer build: --config: %v\n", err)
			return 1
		}
		if !*noCheck {
			if _, err := extension.CheckConfig(*config, os.Getenv); err != nil {
				fmt.Fprintf(os.Stderr, "%v\n\nlambdaotel layer build: %s is not valid (checked with this shell's environment, as \"lambdaotel config check\" does);\n"+
					"set the variables it references (the function's values, or stand-ins) or pass --no-check\n", err, *config)
				return 1
			}
		}
		b.config = data
	}
	if err := b.run(context.Background(), *version); err != nil {
		fmt.Fprintf(os.Stderr, "lambdaotel layer build: %v\n", err)
		return 1
	}
	return 0
}

// layerBuild builds the extension and writes the layer zips.
type layerBuild struct {
	archs          []string
	out            string
	config         []byte // lambdaotel/config.yaml, if any
	stdout, stderr io.Writer
}

func (b *layerBuild) run(ctx context.Context, version string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the Go toolchain (go) is not on PATH; it builds the extension")
	}
	root, err := moduleRoot(ctx, goTool)
	if err != nil {
		return err
	}
	how := "--version"
	if version == "" {
		version, how = gitVersion(ctx, root)
	}
	modTime, err := layerzip.ModTime(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "lambdaotel-layer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(b.stdout, "extension version %s (%s)\n", version, how)
	for _, arch := range b.archs {
		bin := filepath.Join(tmp, arch, "lambdaotel")
		cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-buildvcs=false",
			"-ldflags=-s -w -buildid= -X "+modulePath+"/internal/extension.Version="+version,
			"-o", bin, "./cmd/lambdaotel-extension")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+layerzip.Architectures[arch])
		cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build of the extension for %s (GOARCH=%s): %v", arch, layerzip.Architectures[arch], err)
		}
		exe, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		files := []layerzip.File{{Path: layerzip.ExtensionPath, Mode: layerzip.ExecutableMode, Data: exe}}
		if b.config != nil {
			files = append(files, layerzip.File{Path: layerzip.ConfigPath, Mode: layerzip.FileMode, Data: b.config})
		}
		zipPath := filepath.Join(b.out, layerzip.ZipName(arch))
		if err := layerzip.WriteFile(zipPath, files, modTime); err != nil {
			return err
		}
		fi, err := os.Stat(zipPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(b.stdout, "%s  %d bytes (%s); %s %d bytes (%s)\n",
			zipPath, fi.Size(), mib(fi.Size()), layerzip.ExtensionPath, len(exe), mib(int64(len(exe))))
	}
	return nil
}

// moduleRoot returns the directory of the lambdaotel module that the
// current directory is in.
func moduleRoot(ctx context.Context, goTool string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run it in a clone of the lambdaotel repository (%s): the current directory is in no Go module", modulePath)
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			if strings.Trim(f[1], `"`) != modulePath {
				return "", fmt.Errorf("run it in a clone of the lambdaotel repository: %s is module %s, not %s", gomod, f[1], modulePath)
			}
			return filepath.Dir(gomod), nil
		}
	}
	return "", fmt.Errorf("%s names no module", gomod)
}

// gitVersion describes the repository at dir with git, or says "dev" when
// it cannot; the second result says which.
func gitVersion(ctx context.Context, dir string) (version, how string) {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "dev", "git describe failed: not a git clone, or git is missing"
	}
	v := strings.TrimSpace(out.String())
	if !usableVersion(v) {
		return "dev", "git describe gave no usable version"
	}
	return v, "git describe"
}

// usableVersion reports whether v can be given to the linker's -X.
func usableVersion(v string) bool {
	return v != "" && !strings.ContainsAny(v, " \t\r\n'\"\\")
}

// mib formats a size in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
