package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", minimal)
	b := write("b.yaml", minimal)
	c := write("c.yaml", minimal)
	layerFile := write("layer.yaml", minimal)
	missing := filepath.Join(dir, "missing.yaml")

	tests := []struct {
		name        string
		env         map[string]string
		defaultFile string
		wantSource  string
		wantErr     string
	}{
		{
			name:       "LAMBDAOTEL_CONFIG wins",
			env:        map[string]string{"LAMBDAOTEL_CONFIG": a, "OPENTELEMETRY_COLLECTOR_CONFIG_URI": b, "OPENTELEMETRY_COLLECTOR_CONFIG_FILE": c},
			wantSource: a,
		},
		{
			name:       "then OPENTELEMETRY_COLLECTOR_CONFIG_URI, a plain path",
			env:        map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": b, "OPENTELEMETRY_COLLECTOR_CONFIG_FILE": c},
			wantSource: b,
		},
		{
			name:       "file: URI",
			env:        map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "file:" + b},
			wantSource: b,
		},
		{
			name:       "file:/// URI",
			env:        map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "file://" + b},
			wantSource: b,
		},
		{
			name:       "then OPENTELEMETRY_COLLECTOR_CONFIG_FILE",
			env:        map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_FILE": c},
			wantSource: c,
		},
		{
			name:        "then the layer's file",
			defaultFile: layerFile,
			wantSource:  layerFile,
		},
		{
			name:        "a variable beats the layer's file",
			env:         map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_FILE": c},
			defaultFile: layerFile,
			wantSource:  c,
		},
		{
			name:        "else the built-in default",
			defaultFile: missing,
			wantSource:  DefaultSource,
		},
		{
			name:       "the SDK's variables do not name a file",
			env:        map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_CONFIG_FILE": a},
			wantSource: DefaultSource,
		},
		{
			name:    "missing file named by LAMBDAOTEL_CONFIG",
			env:     map[string]string{"LAMBDAOTEL_CONFIG": missing},
			wantErr: missing + ": config file does not exist (named by LAMBDAOTEL_CONFIG); the function's files are under /var/task, layers' files under /opt",
		},
		{
			name:    "missing file named by OPENTELEMETRY_COLLECTOR_CONFIG_URI",
			env:     map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "file:" + missing},
			wantErr: missing + ": config file does not exist (named by OPENTELEMETRY_COLLECTOR_CONFIG_URI); the function's files are under /var/task, layers' files under /opt",
		},
		{
			name:    "missing file named by OPENTELEMETRY_COLLECTOR_CONFIG_FILE",
			env:     map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_FILE": missing},
			wantErr: missing + ": config file does not exist (named by OPENTELEMETRY_COLLECTOR_CONFIG_FILE); the function's files are under /var/task, layers' files under /opt",
		},
		{
			name:    "a directory",
			env:     map[string]string{"LAMBDAOTEL_CONFIG": dir},
			wantErr: dir + ": cannot read config file (named by LAMBDAOTEL_CONFIG): is a directory",
		},
		{
			name:    "gs URI",
			env:     map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "gs://my-bucket/collector.yaml"},
			wantErr: `OPENTELEMETRY_COLLECTOR_CONFIG_URI: "gs://my-bucket/collector.yaml": gs: URIs are not supported; use a path, file:, s3: or http(s): URI, e.g. /var/task/collector.yaml`,
		},
		{
			name:    "s3 URI without credentials",
			env:     map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "s3://my-bucket.s3.us-east-1.amazonaws.com/collector.yaml"},
			wantErr: `s3://my-bucket.s3.us-east-1.amazonaws.com/collector.yaml: cannot fetch the configuration (named by OPENTELEMETRY_COLLECTOR_CONFIG_URI): no AWS credentials: none of AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_CONTAINER_CREDENTIALS_FULL_URI is set (Lambda sets them for the function's execution role)`,
		},
		{
			name:    "file URI with a host",
			env:     map[string]string{"OPENTELEMETRY_COLLECTOR_CONFIG_URI": "file://server/collector.yaml"},
			wantErr: `OPENTELEMETRY_COLLECTOR_CONFIG_URI: "file://server/collector.yaml": not a local file URI; use file:///path/to/config.yaml or a plain path`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := defaultConfigFile
			defer func() { defaultConfigFile = old }()
			defaultConfigFile = tt.defaultFile
			if defaultConfigFile == "" {
				defaultConfigFile = missing
			}
			cfg, err := Load(envMap(tt.env))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
				var ce *Error
				if !errors.As(err, &ce) {
					t.Errorf("error %T is not a *config.Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Source != tt.wantSource {
				t.Errorf("Source = %q, want %q", cfg.Source, tt.wantSource)
			}
		})
	}
}

func TestLoadMissingFileIsNotExist(t *testing.T) {
	_, err := Load(envMap(map[string]string{"LAMBDAOTEL_CONFIG": filepath.Join(t.TempDir(), "nope.yaml")}))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestLoadParsesTheFile(t *testing.T) {
	_, err := Load(envMap(map[string]string{"LAMBDAOTEL_CONFIG": "testdata/unknown-exporter.yaml"}))
	want := `testdata/unknown-exporter.yaml:10:3: exporters: unknown type "kafka"; supported: otlp, otlphttp, debug, awsxray, awsemf, prometheusremotewrite`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestPathFromURI(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"/var/task/collector.yaml", "/var/task/collector.yaml"},
		{"collector.yaml", "collector.yaml"},
		{"./conf/c.yaml", "./conf/c.yaml"},
		{"file:/var/task/collector.yaml", "/var/task/collector.yaml"},
		{"file:///var/task/collector.yaml", "/var/task/collector.yaml"},
		{"file://localhost/var/task/collector.yaml", "/var/task/collector.yaml"},
		{"file:///var/task/my%20config.yaml", "/var/task/my config.yaml"},
		{"FILE:/opt/c.yaml", "/opt/c.yaml"},
		{"/var/task/a:b.yaml", "/var/task/a:b.yaml"},
	}
	for _, tt := range tests {
		got, err := pathFromURI(tt.uri)
		if err != nil || got != tt.want {
			t.Errorf("pathFromURI(%q) = %q, %v; want %q", tt.uri, got, err, tt.want)
		}
	}
}
