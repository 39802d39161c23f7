// Package resourcedetectionprocessor implements the collector's
// "resourcedetection" processor for the detectors that apply in Lambda
// (env, lambda, system): what they find in the environment at init becomes
// the actions of a resource processor, so the detected attributes are set
// on every resource that passes.
package resourcedetectionprocessor

import (
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/resourceprocessor"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "resourcedetection". Its configuration is the
// resource processor's (*resourceprocessor.Config), and so is the processor
// it makes.
var Factory = processor.Factory{
	Type:   "resourcedetection",
	Decode: Decode,
	New: func(cfg any) (processor.Processor, error) {
		c, ok := cfg.(*resourceprocessor.Config)
		if !ok {
			return nil, fmt.Errorf("resourcedetection processor: configuration is a %T", cfg)
		}
		return resourceprocessor.New(*c)
	},
}

// resourceDetectors are the resourcedetection processor's detectors that
// apply in Lambda, in the collector's spelling.
var resourceDetectors = []string{"env", "lambda", "system"}

// Decode reads a resourcedetection processor and turns what its detectors
// find in the environment now, at init, into resource actions:
// upsert when override is true (the collector's default: detected values
// replace the ones the data has), insert when it is false. When two
// detectors find the same attribute, the first in the list wins, as in the
// collector.
// It returns a *resourceprocessor.Config.
func Decode(d processor.Decoder, key, n *yaml.Node, path string) any {
	nerr := d.Mistakes()
	f := d.Fields(n, path, []string{"detectors", "override", "timeout", "env", "lambda", "system", "attributes"})
	action := resourceprocessor.Upsert
	if o, ok := f["override"]; ok && !processor.IsNull(o.Value) && !d.Bool(o.Value, path+".override") {
		action = resourceprocessor.Insert
	}
	if t, ok := f["timeout"]; ok {
		d.Duration(t.Value, path+".timeout") // checked; detection reads only the environment and takes no time
	}
	var only map[string]bool // the deprecated attributes list: keep only these keys
	if a, ok := f["attributes"]; ok && !processor.IsNull(a.Value) {
		keys, _ := d.List(a.Value, path+".attributes")
		only = map[string]bool{}
		for _, k := range keys {
			only[k] = true
		}
	}
	dt, ok := f["detectors"]
	if !ok || processor.IsNull(dt.Value) {
		d.Errorf(errorAt(n, key), "%s: detectors is required: a list of %s", path, strings.Join(resourceDetectors, ", "))
		return nil
	}
	names, nodes := d.List(dt.Value, path+".detectors")
	rp := &resourceprocessor.Config{}
	seen := map[string]bool{}
	for i, name := range names {
		var attrs []detected
		switch name {
		case "env":
			attrs = detectEnv(d, nodes[i], path)
		case "lambda":
			attrs = detectLambda(d.Getenv, enabledAttrs(d, f["lambda"], path+".lambda"))
		case "system":
			attrs = detectSystem(enabledAttrs(d, f["system"], path+".system"))
		default:
			d.Errorf(nodes[i], "%s.detectors: detector %q does not apply in Lambda; supported: %s (remove it: lambda detects the function's cloud and faas attributes)", path, name, strings.Join(resourceDetectors, ", "))
			continue
		}
		for _, a := range attrs {
			if seen[a.key] || (only != nil && !only[a.key]) {
				continue
			}
			seen[a.key] = true
			rp.Attributes = append(rp.Attributes, resourceprocessor.AttributeAction{Key: a.key, Action: action, Value: a.value})
		}
	}
	if d.Mistakes() > nerr {
		return nil
	}
	return rp
}

// errorAt is where a mistake about the options as a whole is reported:
// at the options, or at the processor's id when none are given.
func errorAt(value, key *yaml.Node) *yaml.Node {
	if processor.IsNull(value) {
		return key
	}
	return value
}

// detected is one attribute a detector found.
type detected struct {
	key   string
	value any
}

// enabledAttrs reads a detector's resource_attributes: {NAME: {enabled: BOOL}}
// and returns the explicit choices.
func enabledAttrs(d processor.Decoder, e processor.Entry, path string) map[string]bool {
	if processor.IsNull(e.Value) {
		return nil
	}
	f := d.Fields(e.Value, path, []string{"resource_attributes", "hostname_sources"})
	if h, ok := f["hostname_sources"]; ok {
		srcs, nodes := d.List(h.Value, path+".hostname_sources")
		for i, s := range srcs {
			if s != "os" {
				d.Errorf(nodes[i], "%s.hostname_sources: source %q is not supported in Lambda; supported: os", path, s)
			}
		}
	}
	out := map[string]bool{}
	for _, a := range d.Entries(f["resource_attributes"].Value, path+".resource_attributes") {
		af := d.Fields(a.Value, path+".resource_attributes."+a.Key.Value, []string{"enabled"})
		if en, ok := af["enabled"]; ok {
			out[a.Key.Value] = d.Bool(en.Value, path+".resource_attributes."+a.Key.Value+".enabled")
		}
	}
	return out
}

// detectEnv parses OTEL_RESOURCE_ATTRIBUTES (key=value pairs separated by
// commas, values percent-decoded), as the collector's env detector does.
func detectEnv(d processor.Decoder, at *yaml.Node, path string) []detected {
	s := strings.TrimSpace(d.Getenv("OTEL_RESOURCE_ATTRIBUTES"))
	if s == "" {
		return nil
	}
	var out []detected
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			d.Errorf(at, "%s: detector env: OTEL_RESOURCE_ATTRIBUTES has an invalid pair %q; want key=value[,key=value]", path, pair)
			return nil
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			d.Errorf(at, "%s: detector env: OTEL_RESOURCE_ATTRIBUTES value of %q is not percent-encoded correctly: %v", path, k, err)
			return nil
		}
		out = append(out, detected{k, dv})
	}
	return out
}

// detectLambda returns the attributes the collector's lambda detector sets
// from the runtime's reserved variables; enabled turns single attributes
// on or off.
func detectLambda(getenv func(string) string, enabled map[string]bool) []detected {
	name := getenv("AWS_LAMBDA_FUNCTION_NAME")
	if name == "" {
		return nil // not in Lambda: the detector finds nothing, as upstream
	}
	var out []detected
	add := func(k string, v any) {
		if on, ok := enabled[k]; ok && !on {
			return
		}
		out = append(out, detected{k, v})
	}
	add("cloud.provider", "aws")
	add("cloud.platform", "aws_lambda")
	if v := getenv("AWS_REGION"); v != "" {
		add("cloud.region", v)
	}
	add("faas.name", name)
	if v := getenv("AWS_LAMBDA_FUNCTION_VERSION"); v != "" {
		add("faas.version", v)
	}
	if v := getenv("AWS_LAMBDA_LOG_STREAM_NAME"); v != "" {
		add("faas.instance", v)
	}
	if v, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil {
		add("faas.max_memory", v)
	}
	if v := getenv("AWS_LAMBDA_LOG_GROUP_NAME"); v != "" {
		add("aws.log.group.names", []string{v})
	}
	if v := getenv("AWS_LAMBDA_LOG_STREAM_NAME"); v != "" {
		add("aws.log.stream.names", []string{v})
	}
	return out
}

// detectSystem returns what the collector's system detector sets by
// default (host.name from the operating system, os.type) and, when
// enabled, host.arch.
func detectSystem(enabled map[string]bool) []detected {
	var out []detected
	if on, ok := enabled["host.name"]; !ok || on {
		if h, err := os.Hostname(); err == nil && h != "" {
			out = append(out, detected{"host.name", h})
		}
	}
	if on, ok := enabled["os.type"]; !ok || on {
		out = append(out, detected{"os.type", runtime.GOOS})
	}
	if enabled["host.arch"] {
		out = append(out, detected{"host.arch", runtime.GOARCH})
	}
	return out
}
