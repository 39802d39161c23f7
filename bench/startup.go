package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
	"github.com/lambdaotel/lambdaotel/sink"
)

// startupConfigs are the configurations the start-up comparison runs the
// extension with: none (the built-in one, the backend from the
// LAMBDAOTEL_EXPORTER_OTLP_* variables) and a typical file (the README's
// example: both OTLP protocols, the Telemetry API, a resource processor,
// an otlphttp backend with a header from the environment).
var startupConfigs = []struct{ name, file string }{
	{"default configuration", ""},
	{"typical config file", `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: 127.0.0.1:4318
  telemetryapi:
    types: [platform, function]
processors:
  batch:
  resource:
    attributes:
      - {key: deployment.environment.name, value: prod, action: upsert}
exporters:
  otlphttp:
    endpoint: http://%s
    headers: {x-api-key: "${env:API_KEY}"}
service:
  pipelines:
    traces:  {receivers: [otlp, telemetryapi], processors: [batch, resource], exporters: [otlphttp]}
    metrics: {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
    logs:    {receivers: [otlp, telemetryapi], exporters: [otlphttp]}
`},
}

// startupNetwork is the sandbox's network: its own by default, as in Lambda;
// LAMBDAOTEL_BENCH_NETWORK=host shares the host's (no relay in the figures).
var startupNetwork = os.Getenv("LAMBDAOTEL_BENCH_NETWORK")

// startupBinary is one extension binary of the start-up comparison.
type startupBinary struct {
	name, path string
	// upstream marks the upstream collector layer's binary: it runs as
	// extensions/collector with bench/upstream-collector-platform.yaml.
	upstream bool
}

// parseStartup reads -startup: name=path pairs separated by commas, at
// least one. A path of "." builds the extension of this work tree, a
// directory (./internal/fixtures/minimalext) the command in it;
// upstream:PATH is the upstream collector layer's binary, any other path
// an extension binary.
func parseStartup(spec, work string) ([]startupBinary, error) {
	var bins []startupBinary
	for _, kv := range strings.Split(spec, ",") {
		name, path, ok := strings.Cut(kv, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("-startup %q: want name=binary[,name=binary...], got %q", spec, kv)
		}
		if p, ok := strings.CutPrefix(path, "upstream:"); ok {
			bins = append(bins, startupBinary{name: name, path: p, upstream: true})
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("-startup %q: %w", spec, err)
		}
		if fi.IsDir() {
			pkg := path
			if !filepath.IsAbs(pkg) {
				pkg = "./" + filepath.Clean(pkg)
			}
			if path == "." {
				pkg = "./cmd/lambdaotel-extension"
			}
			path = filepath.Join(work, "startup-"+name)
			if err := build(path, runtime.GOARCH, pkg, "-trimpath", "-ldflags=-s -w"); err != nil {
				return nil, err
			}
		}
		bins = append(bins, startupBinary{name: name, path: path})
	}
	return bins, nil
}

// startup measures the extension's start (exec → first event/next, as the
// sandbox reports it) and its RSS right after the first invocation for
// each binary of spec and each configuration, starts times, the binaries
// taking turns cold start by cold start so that a change in the machine's
// load falls on all of them alike. It prints a markdown table and, with
// section set, writes it as that section of out/results.md. With rawPath
// set, each cold start's figures are appended to that file (binary,
// configuration, start in ms, RSS in bytes; tab-separated), so that runs
// can be pooled.
func startup(spec string, starts int, out, section, rawPath string) error {
	var raw *os.File
	if rawPath != "" {
		f, err := os.OpenFile(rawPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		raw = f
	}
	work, err := os.MkdirTemp("", "lambdaotel-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bins, err := parseStartup(spec, work)
	if err != nil {
		return err
	}
	plain := filepath.Join(work, "plainfunc")
	if err := build(plain, runtime.GOARCH, "./internal/fixtures/plainfunc"); err != nil {
		return err
	}
	s, err := sink.Start(sink.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer s.Close()
	_, portText, _ := strings.Cut(s.HTTPAddr(), ":")
	sinkPort, _ := strconv.Atoi(portText)

	type key struct{ bin, cfg int }
	ready, rss := map[key][]float64{}, map[key][]float64{}
	load := [2]float64{loadAverage(), 0}
	began := time.Now()
	for i := range starts {
		for c, cfg := range startupConfigs {
			for b, bin := range bins {
				if bin.upstream && c > 0 {
					continue // one configuration of its own
				}
				r, m, err := coldStart(work, plain, bin, cfg.file, s.HTTPAddr(), sinkPort)
				if err != nil {
					return fmt.Errorf("%s, %s, cold start %d: %w", bin.name, cfg.name, i+1, err)
				}
				ready[key{b, c}] = append(ready[key{b, c}], r)
				rss[key{b, c}] = append(rss[key{b, c}], m)
				if raw != nil {
					fmt.Fprintf(raw, "%s\t%s\t%.3f\t%.0f\n", bin.name, cfg.name, r, m)
				}
			}
		}
	}
	load[1] = loadAverage()

	var t strings.Builder
	fmt.Fprintf(&t, "Machine: %s  \nDate: %s  \n", machine(), time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&t, "Command: `go run ./bench -startup %s -starts %d`  \n", spec, starts)
	fmt.Fprintf(&t, "Load average (1 min) %.2f at the start, %.2f at the end; %s for %d cold starts of each binary and configuration, taking turns\n\n",
		load[0], load[1], time.Since(began).Round(time.Second), starts)
	t.WriteString("| binary | configuration | start median (ms) | start p95 (ms) | RSS median (MB) |\n| --- | --- | ---: | ---: | ---: |\n")
	for c, cfg := range startupConfigs {
		for b, bin := range bins {
			k := key{b, c}
			name := cfg.name
			switch {
			case bin.upstream && c > 0:
				continue
			case bin.upstream:
				name = "OTLP and telemetryapi (" + upstreamPlatformConfig + ")"
			}
			fmt.Fprintf(&t, "| %s | %s | %.2f | %.2f | %.1f |\n", bin.name, name, percentile(ready[k], 50), percentile(ready[k], 95), percentile(rss[k], 50)/1e6)
		}
	}
	fmt.Print(t.String())
	if section == "" {
		return nil
	}
	return writeSection(filepath.Join(out, "results.md"), section, t.String())
}

// coldStart starts an environment with the extension ext and the
// configuration file cfg (none when empty; the upstream collector's is
// always bench/upstream-collector-platform.yaml, OTLP and the Telemetry
// API as in both of lambdaotel's), invokes it once and returns the
// extension's start in ms and its RSS in bytes after that invocation.
func coldStart(work, fn string, ext startupBinary, cfg, sinkAddr string, sinkPort int) (float64, float64, error) {
	dir, err := os.MkdirTemp(work, "env-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	if err := buildtest.InstallFile(fn, filepath.Join(task, "bootstrap")); err != nil {
		return 0, 0, err
	}
	name := "lambdaotel"
	if ext.upstream {
		name = "collector"
	}
	if err := buildtest.InstallFile(ext.path, filepath.Join(layer, "extensions", name)); err != nil {
		return 0, 0, err
	}
	vars := map[string]string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT": "http://" + sinkAddr, "API_KEY": "k"}
	if ext.upstream {
		file, err := filepath.Abs(upstreamPlatformConfig)
		if err != nil {
			return 0, 0, err
		}
		vars = map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "file:" + file, "BENCH_GRPC_ENDPOINT": "127.0.0.1:4317",
			"BENCH_HTTP_ENDPOINT": "127.0.0.1:4318", "BENCH_SINK": "http://" + sinkAddr}
	} else if cfg != "" {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(fmt.Sprintf(cfg, sinkAddr)), 0o644); err != nil {
			return 0, 0, err
		}
		vars["LAMBDAOTEL_CONFIG"] = path
	}
	// A network of its own, as in Lambda: the default ports 4317/4318
	// are the environment's alone, and the sink is relayed in.
	e, err := sandbox.Start(sandbox.Config{TaskRoot: task, Layers: []string{layer}, Env: vars, MemoryMB: 512,
		Timeout: 30 * time.Second, Network: startupNetwork, Forward: []int{sinkPort}})
	if err != nil {
		return 0, 0, err
	}
	defer e.Shutdown()
	r, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{}`)})
	if err != nil || r.Init == nil || r.Init.Status != "success" || len(r.Init.Extensions) != 1 {
		return 0, 0, fmt.Errorf("invoke: %v %+v", err, r)
	}
	return r.Init.Extensions[0].ReadyMs, float64(extensionRSS(e, name)), nil
}

// loadAverage is the machine's load average over the last minute.
func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
