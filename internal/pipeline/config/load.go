package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/configsource"
)

// Variables that name the configuration file, in order of precedence.
const (
	EnvConfig         = "LAMBDAOTEL_CONFIG"                   // a path
	EnvCollectorURI   = "OPENTELEMETRY_COLLECTOR_CONFIG_URI"  // upstream layer: file: URI or path
	EnvCollectorFile  = "OPENTELEMETRY_COLLECTOR_CONFIG_FILE" // upstream layer, older: a path
	DefaultConfigFile = "/opt/lambdaotel/config.yaml"         // used when it exists
)

// defaultConfigFile is DefaultConfigFile; tests change it.
var defaultConfigFile = DefaultConfigFile

// Load finds and reads the configuration:
//
//  1. LAMBDAOTEL_CONFIG, a path, or an s3: or http(s): URI as below;
//  2. OPENTELEMETRY_COLLECTOR_CONFIG_URI, as the upstream collector layer
//     reads it: file:/path, file:///path or a plain path, or
//     s3://BUCKET.s3.REGION.amazonaws.com/KEY, s3://BUCKET/KEY or
//     http(s)://... (fetched once, see package configsource);
//  3. OPENTELEMETRY_COLLECTOR_CONFIG_FILE, a path;
//  4. /opt/lambdaotel/config.yaml, if it exists (a layer can ship it);
//  5. else Default, driven by LAMBDAOTEL_EXPORTER_OTLP_* variables.
//
// A file named by a variable must exist. getenv is os.Getenv if nil.
func Load(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := strings.TrimSpace(getenv(EnvConfig)); v != "" {
		if configsource.IsRemote(v) {
			return loadRemote(v, EnvConfig, getenv)
		}
		return loadFile(v, EnvConfig, getenv)
	}
	if v := strings.TrimSpace(getenv(EnvCollectorURI)); v != "" {
		if configsource.IsRemote(v) {
			return loadRemote(v, EnvCollectorURI, getenv)
		}
		path, err := pathFromURI(v)
		if err != nil {
			return nil, err
		}
		return loadFile(path, EnvCollectorURI, getenv)
	}
	if v := strings.TrimSpace(getenv(EnvCollectorFile)); v != "" {
		return loadFile(v, EnvCollectorFile, getenv)
	}
	if _, err := os.Stat(defaultConfigFile); err == nil {
		return loadFile(defaultConfigFile, "", getenv)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: defaultConfigFile, Message: fmt.Sprintf("cannot read config file: %v", pathErrorCause(err)), Err: err}
	}
	return Default(getenv)
}

// LoadFile reads the configuration file at path, named on a command line
// rather than by a variable.
func LoadFile(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return loadFile(path, "", getenv)
}

func loadFile(path, variable string, getenv func(string) string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		by := ""
		if variable != "" {
			by = " (named by " + variable + ")"
		}
		if errors.Is(err, fs.ErrNotExist) {
			where := "; the function's files are under /var/task, layers' files under /opt"
			if variable == "" {
				where = ""
			}
			return nil, &Error{File: path, Err: err, Message: "config file does not exist" + by + where}
		}
		return nil, &Error{File: path, Err: err, Message: fmt.Sprintf("cannot read config file%s: %v", by, pathErrorCause(err))}
	}
	return Parse(data, path, getenv)
}

// readFile reads the file at path, or MaxFileBytes+1 of it if it is
// larger (Parse refuses it then).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
}

// pathErrorCause drops the operation and path a *fs.PathError repeats.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var schemeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`) }) // compiled at first use: start-up is cold start

// pathFromURI turns OPENTELEMETRY_COLLECTOR_CONFIG_URI into a local path.
func pathFromURI(v string) (string, error) {
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok || strings.HasPrefix(v, "/") || strings.HasPrefix(v, ".") || !schemeRE().MatchString(scheme) {
		return v, nil // a plain path
	}
	if !strings.EqualFold(scheme, "file") {
		return "", &Error{File: EnvCollectorURI, Message: fmt.Sprintf(
			"%q: %s: URIs are not supported; use a path, file:, s3: or http(s): URI, e.g. /var/task/collector.yaml",
			v, strings.ToLower(scheme))}
	}
	if !strings.HasPrefix(rest, "//") {
		return rest, nil // file:/path or file:relative/path
	}
	u, err := url.Parse(v)
	if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return "", &Error{File: EnvCollectorURI, Message: fmt.Sprintf("%q: not a local file URI; use file:///path/to/config.yaml or a plain path", v)}
	}
	return u.Path, nil
}
