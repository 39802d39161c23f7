// Command awsstart measures what the AWS features cost the extension: the
// stripped binary's size, and its start (exec → first event/next, as the
// sandbox reports it) with a configuration that uses no AWS feature, one
// that signs with sigv4auth and takes an API key from Secrets Manager and
// an endpoint from SSM (two round trips to a loopback AWS stand-in), one
// fetched from S3, and LAMBDAOTEL_EXPORTER=aws. It prints Markdown rows
// for bench/results.md.
//
//	go run ./bench/awsstart [-n 20]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/awsstandin"
	"github.com/lambdaotel/lambdaotel/internal/buildtest"
	"github.com/lambdaotel/lambdaotel/sandbox"
)

const plainConfig = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:14318
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:9
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp]}
`

const awsConfig = `extensions:
  sigv4auth:
    service: xray
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:14318
exporters:
  otlphttp/xray:
    traces_endpoint: ${env:AWS_ENDPOINT_URL_XRAY}/v1/traces
    auth: {authenticator: sigv4auth}
  otlphttp/backend:
    endpoint: ${ssm:/bench/endpoint}
    headers: {x-api-key: "${secretsmanager:bench-key}"}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlphttp/xray, otlphttp/backend]}
`

func main() {
	n := flag.Int("n", 20, "cold starts per case")
	base := flag.String("base", "", "an extension binary built without the AWS features, measured first for comparison")
	flag.Parse()
	if err := run(*n, *base); err != nil {
		fmt.Fprintf(os.Stderr, "awsstart: %v\n", err)
		os.Exit(1)
	}
}

func run(n int, base string) error {
	work, err := os.MkdirTemp("", "awsstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ext := filepath.Join(work, "lambdaotel")
	if err := build(ext, "./cmd/lambdaotel-extension", "-trimpath", "-ldflags=-s -w"); err != nil {
		return err
	}
	st, err := os.Stat(ext)
	if err != nil {
		return err
	}
	fn := filepath.Join(work, "plainfunc")
	if err := build(fn, "./internal/fixtures/plainfunc"); err != nil {
		return err
	}
	aws := &awsstandin.Server{
		Region: "eu-west-1", AccessKeyID: "AKIDBENCH", SecretAccessKey: "bench-secret",
		Secrets:    map[string]string{"bench-key": "k"},
		Parameters: map[string]string{"/bench/endpoint": "http://127.0.0.1:9"},
		Objects:    map[string][]byte{"bench/config.yaml": []byte(plainConfig)},
		LogStreams: map[string]bool{"/aws/lambda/function/lambdaotel": true},
	}
	if err := aws.Start(); err != nil {
		return err
	}
	defer aws.Close()
	awsEnv := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret",
		"AWS_ENDPOINT_URL_XRAY": aws.URL, "AWS_ENDPOINT_URL_SSM": aws.URL, "AWS_ENDPOINT_URL_SECRETS_MANAGER": aws.URL,
		"AWS_ENDPOINT_URL_S3": aws.URL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": aws.URL,
	}
	fmt.Printf("| extension binary, stripped, %s, with the AWS features | %.2f MB | ≤ 12 MB |  |\n", runtime.GOARCH, float64(st.Size())/1e6)
	cases := []struct {
		name, config string
		env          map[string]string
		note         string
	}{
		{"no AWS feature", plainConfig, nil, ""},
		{"sigv4auth + ${secretsmanager:...} + ${ssm:...}", awsConfig, awsEnv, "2 round trips to a loopback stand-in at init"},
		{"configuration from s3://", "", merge(awsEnv, map[string]string{"LAMBDAOTEL_CONFIG": "s3://bench/config.yaml"}), "1 round trip to a loopback stand-in at init"},
		{"LAMBDAOTEL_EXPORTER=aws", "", merge(awsEnv, map[string]string{"LAMBDAOTEL_CONFIG": "", "LAMBDAOTEL_EXPORTER": "aws"}), "no round trip at init"},
	}
	if base != "" {
		var ready []float64
		for range n {
			ms, err := start(work, fn, base, plainConfig, nil)
			if err != nil {
				return fmt.Errorf("base: %v", err)
			}
			ready = append(ready, ms)
		}
		if st, err := os.Stat(base); err == nil {
			fmt.Printf("| extension binary, stripped, %s, without the AWS features (%s) | %.2f MB |  |  |\n", runtime.GOARCH, filepath.Base(base), float64(st.Size())/1e6)
		}
		fmt.Printf("| extension start, without the AWS features, median of %d cold starts | %.2f ms | ≤ 5 ms | same run, same machine |\n", n, percentile(ready, 50))
		fmt.Printf("| extension start, without the AWS features, p95 of %d cold starts | %.2f ms |  |  |\n", n, percentile(ready, 95))
	}
	for _, c := range cases {
		var ready []float64
		before := len(aws.Requests())
		for range n {
			ms, err := start(work, fn, ext, c.config, c.env)
			if err != nil {
				return fmt.Errorf("%s: %v", c.name, err)
			}
			ready = append(ready, ms)
		}
		for _, r := range aws.Requests()[before:] {
			if r.Status != 200 {
				return fmt.Errorf("%s: the stand-in refused %s %s: %s %s", c.name, r.Service, r.Operation, r.Code, r.Message)
			}
		}
		note := c.note
		calls := 0
		for _, r := range aws.Requests()[before:] {
			if r.Service != "xray" && r.Service != "logs" && r.Service != "monitoring" {
				calls++ // not an export: a call made at init
			}
		}
		if calls > 0 {
			note += fmt.Sprintf("; %d AWS API calls in %d starts", calls, n)
		}
		fmt.Printf("| extension start, %s, median of %d cold starts | %.2f ms | ≤ 5 ms | %s |\n", c.name, n, percentile(ready, 50), note)
		fmt.Printf("| extension start, %s, p95 of %d cold starts | %.2f ms |  |  |\n", c.name, n, percentile(ready, 95))
	}
	return nil
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// start runs one cold start and returns the extension's ReadyMs.
func start(work, fn, ext, config string, env map[string]string) (float64, error) {
	dir, err := os.MkdirTemp(work, "env-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	task, layer := filepath.Join(dir, "task"), filepath.Join(dir, "layer")
	if err := buildtest.InstallFile(fn, filepath.Join(task, "bootstrap")); err != nil {
		return 0, err
	}
	if err := buildtest.InstallFile(ext, filepath.Join(layer, "extensions", "lambdaotel")); err != nil {
		return 0, err
	}
	vars := map[string]string{"LAMBDAOTEL_FLUSH_STRATEGY": "end", "LAMBDAOTEL_SPILL_DIR": filepath.Join(dir, "spill")}
	if config != "" {
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, []byte(config), 0o644); err != nil {
			return 0, err
		}
		vars["LAMBDAOTEL_CONFIG"] = p
	}
	for k, v := range env {
		vars[k] = v
	}
	e, err := sandbox.Start(sandbox.Config{TaskRoot: task, Layers: []string{layer}, Env: vars, MemoryMB: 512, Timeout: 30 * time.Second, Region: "eu-west-1"})
	if err != nil {
		return 0, err
	}
	defer e.Shutdown()
	r, err := e.Invoke(context.Background(), sandbox.Request{Payload: []byte(`{}`)})
	if err != nil || r.Init == nil || r.Init.Status != "success" || len(r.Init.Extensions) != 1 {
		return 0, fmt.Errorf("start-up run: %v %+v", err, r)
	}
	return r.Init.Extensions[0].ReadyMs, nil
}

func build(out, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func percentile(v []float64, p float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(float64(len(s)-1)*p/100)]
}
