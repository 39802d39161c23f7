package config

import (
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// resourceDetectors are the resourcedetection processor's detectors that
// apply in Lambda, in the collector's spelling.
var resourceDetectors = []string{"env", "lambda", "system"}

// resourceDetection reads a resourcedetection processor and turns what its
// detectors find in the environment now, at init, into resource actions:
// upsert when override is true (the collector's default: detected values
// replace the ones the data has), insert when it is false. When two
// detectors find the same attribute, the first in the list wins, as in the
// collector.
func (p *parser) resourceDetection(n *yaml.Node, path string) *ResourceProcessor {
	f := p.fields(n, path, []string{"detectors", "override", "timeout", "env", "lambda", "system", "attributes"}, nil)
	action := Upsert
	if o, ok := f["override"]; ok && !isNull(o.val) && !p.boolean(o.val, path+".override") {
		action = Insert
	}
	if t, ok := f["timeout"]; ok {
		p.duration(t.val, path+".timeout") // checked; detection reads only the environment and takes no time
	}
	var only map[string]bool // the deprecated attributes list: keep only these keys
	if a, ok := f["attributes"]; ok && !isNull(a.val) {
		keys, _ := p.list(a.val, path+".attributes")
		only = map[string]bool{}
		for _, k := range keys {
			only[k] = true
		}
	}
	d, ok := f["detectors"]
	if !ok || isNull(d.val) {
		p.errorf(n, "%s: detectors is required: a list of %s", path, strings.Join(resourceDetectors, ", "))
		return nil
	}
	names, nodes := p.list(d.val, path+".detectors")
	rp := &ResourceProcessor{}
	seen := map[string]bool{}
	for i, name := range names {
		var attrs []detected
		switch name {
		case "env":
			attrs = p.detectEnv(nodes[i], path)
		case "lambda":
			attrs = detectLambda(p.getenv, p.enabledAttrs(f["lambda"], path+".lambda"))
		case "system":
			attrs = detectSystem(p.enabledAttrs(f["system"], path+".system"))
		default:
			p.errorf(nodes[i], "%s.detectors: detector %q does not apply in Lambda; supported: %s (remove it: lambda detects the function's cloud and faas attributes)", path, name, strings.Join(resourceDetectors, ", "))
			continue
		}
		for _, a := range attrs {
			if seen[a.key] || (only != nil && !only[a.key]) {
				continue
			}
			seen[a.key] = true
			rp.Attributes = append(rp.Attributes, AttributeAction{Key: a.key, Action: action, Value: a.value})
		}
	}
	if len(p.errs) > 0 {
		return nil
	}
	return rp
}

// detected is one attribute a detector found.
type detected struct {
	key   string
	value any
}

// enabledAttrs reads a detector's resource_attributes: {NAME: {enabled: BOOL}}
// and returns the explicit choices.
func (p *parser) enabledAttrs(e entry, path string) map[string]bool {
	if isNull(e.val) {
		return nil
	}
	f := p.fields(e.val, path, []string{"resource_attributes", "hostname_sources"}, nil)
	if h, ok := f["hostname_sources"]; ok {
		srcs, nodes := p.list(h.val, path+".hostname_sources")
		for i, s := range srcs {
			if s != "os" {
				p.errorf(nodes[i], "%s.hostname_sources: source %q is not supported in Lambda; supported: os", path, s)
			}
		}
	}
	out := map[string]bool{}
	for _, a := range p.entries(f["resource_attributes"].val, path+".resource_attributes") {
		af := p.fields(a.val, path+".resource_attributes."+a.key.Value, []string{"enabled"}, nil)
		if en, ok := af["enabled"]; ok {
			out[a.key.Value] = p.boolean(en.val, path+".resource_attributes."+a.key.Value+".enabled")
		}
	}
	return out
}

// detectEnv parses OTEL_RESOURCE_ATTRIBUTES (key=value pairs separated by
// commas, values percent-decoded), as the collector's env detector does.
func (p *parser) detectEnv(at *yaml.Node, path string) []detected {
	s := strings.TrimSpace(p.getenv("OTEL_RESOURCE_ATTRIBUTES"))
	if s == "" {
		return nil
	}
	var out []detected
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			p.errorf(at, "%s: detector env: OTEL_RESOURCE_ATTRIBUTES has an invalid pair %q; want key=value[,key=value]", path, pair)
			return nil
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			p.errorf(at, "%s: detector env: OTEL_RESOURCE_ATTRIBUTES value of %q is not percent-encoded correctly: %v", path, k, err)
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
