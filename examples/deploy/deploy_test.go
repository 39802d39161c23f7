// Package deploy_test keeps the deployment examples (sam/template.yaml and
// the Terraform module in terraform/) in step with the code: the layer zip
// they deploy is the one `lambdaotel layer build` writes, the variables
// they set are the ones the extension reads and mean what they intend, the
// functions are provided.al2023 bootstraps built from the examples, and
// their triggers send the events the examples' handlers take.
package deploy_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/layerzip"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
)

// Stand-ins for the backend's parameters.
const (
	testEndpoint = "https://otlp.example.com:4318"
	testHeaders  = "x-api-key=s3cr%2Ft,x-team=pets"
)

// repoRoot is the repository's root, as an absolute path.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// archs are Lambda's architectures, in a fixed order.
func archs() []string {
	var a []string
	for name := range layerzip.Architectures {
		a = append(a, name)
	}
	slices.Sort(a)
	return a
}

// ---- what the code expects ----

// checkEnv checks the variables a deployment sets for the extension: the
// LAMBDAOTEL_EXPORTER_OTLP_* ones by running the extension's own default
// configuration with them (which must then export to testEndpoint with the
// headers of testHeaders), any other LAMBDAOTEL_* one by finding it in the
// extension's code; and that none of the SDK's OTEL_EXPORTER_OTLP_* is set,
// which would send the function's telemetry around the extension.
func checkEnv(t *testing.T, where string, env map[string]string) {
	t.Helper()
	for _, want := range []string{"LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT", "LAMBDAOTEL_EXPORTER_OTLP_HEADERS"} {
		if _, ok := env[want]; !ok {
			t.Errorf("%s: %s is not set", where, want)
		}
	}
	for name := range env {
		switch {
		case strings.HasPrefix(name, "OTEL_EXPORTER_OTLP_"):
			t.Errorf("%s: %s belongs to the function's SDK, which must keep sending to the extension; set LAMBDAOTEL_%s", where, name, strings.TrimPrefix(name, "OTEL_"))
		case strings.HasPrefix(name, "LAMBDAOTEL_EXPORTER_OTLP_"): // below
		case strings.HasPrefix(name, "LAMBDAOTEL_") && !inExtensionCode(t, name):
			t.Errorf("%s: %s is not read by the extension", where, name)
		}
	}
	cfg, err := config.Default(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: the extension's default configuration with these variables: %v", where, err)
	}
	// Each LAMBDAOTEL_EXPORTER_OTLP_* variable changes the exporters: a
	// misspelt one would not.
	for name := range env {
		if !strings.HasPrefix(name, "LAMBDAOTEL_EXPORTER_OTLP_") {
			continue
		}
		without, err := config.Default(func(k string) string {
			if k == name {
				return ""
			}
			return env[k]
		})
		if err == nil && reflect.DeepEqual(without.Exporters, cfg.Exporters) {
			t.Errorf("%s: %s changes nothing in the extension's configuration: not a variable it reads?", where, name)
		}
	}
	wantHeaders := map[string]string{"x-api-key": "s3cr/t", "x-team": "pets"}
	n := 0
	for id, e := range cfg.Exporters {
		if e.OTLPHTTP == nil {
			t.Errorf("%s: exporter %s is %s, want otlphttp to the backend", where, id, e.Type)
			continue
		}
		n++
		if e.OTLPHTTP.Endpoint != testEndpoint {
			t.Errorf("%s: the extension exports to %q, want the endpoint parameter %q", where, e.OTLPHTTP.Endpoint, testEndpoint)
		}
		if len(e.OTLPHTTP.Headers) != len(wantHeaders) {
			t.Errorf("%s: headers %v, want %v (from the headers parameter)", where, e.OTLPHTTP.Headers, wantHeaders)
		}
		for k, v := range wantHeaders {
			if e.OTLPHTTP.Headers[k] != v {
				t.Errorf("%s: header %s = %q, want %q", where, k, e.OTLPHTTP.Headers[k], v)
			}
		}
	}
	if n != 1 {
		t.Errorf("%s: %d otlphttp exporters, want 1", where, n)
	}
}

// inExtensionCode reports whether name is a string in the extension's
// non-test Go code.
func inExtensionCode(t *testing.T, name string) bool {
	t.Helper()
	found := false
	for _, dir := range []string{"internal/extension", "internal/pipeline", "internal/engine", "cmd/lambdaotel-extension"} {
		filepath.WalkDir(filepath.Join(repoRoot(t), dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || found || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			data, err := os.ReadFile(p)
			found = err == nil && bytes.Contains(data, []byte(`"`+name+`"`))
			return nil
		})
	}
	return found
}

// example is what a deployment needs to know of an example function.
type example struct {
	dir string // examples/<dir>
	// payload is the API Gateway payload format version its handler
	// takes, for an HTTP API function.
	payload string
	// batchFailures: it answers events.SQSEventResponse, which needs
	// ReportBatchItemFailures on the event source mapping.
	batchFailures bool
	// pathParams are the path parameters it reads.
	pathParams []string
}

// readExample reads examples/<dir>/main.go's handle function.
func readExample(t *testing.T, dir string) example {
	t.Helper()
	src := filepath.Join(repoRoot(t), "examples", dir, "main.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatalf("example %s: %v", dir, err)
	}
	ex := example{dir: dir}
	typeName := func(e ast.Expr) string {
		if s, ok := e.(*ast.SelectorExpr); ok {
			if x, ok := s.X.(*ast.Ident); ok {
				return x.Name + "." + s.Sel.Name
			}
		}
		return ""
	}
	found := false
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "handle" || fn.Recv != nil {
			continue
		}
		found = true
		if params := fn.Type.Params.List; len(params) == 2 {
			switch typeName(params[1].Type) {
			case "events.APIGatewayProxyRequest":
				ex.payload = "1.0"
			case "events.APIGatewayV2HTTPRequest":
				ex.payload = "2.0"
			}
		}
		if res := fn.Type.Results; res != nil && len(res.List) > 0 && typeName(res.List[0].Type) == "events.SQSEventResponse" {
			ex.batchFailures = true
		}
	}
	if !found {
		t.Fatalf("example %s has no func handle", dir)
	}
	data, _ := os.ReadFile(src)
	for _, m := range regexp.MustCompile(`PathParameters\["([^"]+)"\]`).FindAllStringSubmatch(string(data), -1) {
		ex.pathParams = append(ex.pathParams, m[1])
	}
	return ex
}

// checkRoute checks that route's path parameters are the ones ex reads.
func checkRoute(t *testing.T, where, path string, ex example) {
	t.Helper()
	var params []string
	for _, m := range regexp.MustCompile(`\{([^}+]+)\+?\}`).FindAllStringSubmatch(path, -1) {
		params = append(params, m[1])
	}
	for _, p := range ex.pathParams {
		if !slices.Contains(params, p) {
			t.Errorf("%s: route %s has no {%s}, which examples/%s reads", where, path, p, ex.dir)
		}
	}
}

// checkFunctionBuild checks that bootstrap (a path in the repository) is
// where the deployment's README builds an example, and returns it.
func checkFunctionBuild(t *testing.T, where, readme, bootstrap string) example {
	t.Helper()
	rel, err := filepath.Rel(repoRoot(t), bootstrap)
	rel = filepath.ToSlash(rel)
	m := regexp.MustCompile(`^dist/functions/([a-z0-9]+)/bootstrap$`).FindStringSubmatch(rel)
	if err != nil || m == nil {
		t.Fatalf("%s: the function is %s, want dist/functions/<example>/bootstrap", where, rel)
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "examples", m[1], "main.go")); err != nil {
		t.Fatalf("%s: %s is not built from an example: %v", where, rel, err)
	}
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	build := "-o " + rel + " ./examples/" + m[1]
	if !bytes.Contains(text, []byte(build)) {
		t.Errorf("%s does not build %s (no %q)", readme, rel, build)
	}
	return readExample(t, m[1])
}

// layerZipPath is where `lambdaotel layer build` (make layers) writes the
// layer zip for arch.
func layerZipPath(t *testing.T, arch string) string {
	return filepath.Join(repoRoot(t), "dist", layerzip.ZipName(arch))
}

// ---- SAM ----

// intrinsics are CloudFormation's short-form tags; each stands for a
// one-key map of the long form ("!Ref X" is {"Ref": "X"}).
var intrinsics = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!If": "Fn::If",
	"!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or", "!Join": "Fn::Join",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
	"!Cidr": "Fn::Cidr", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Transform": "Fn::Transform",
	"!ToJsonString": "Fn::ToJsonString", "!Length": "Fn::Length",
}

// cfnValue turns a YAML node into maps, slices and scalars, with the short
// intrinsic forms as their long forms.
func cfnValue(n *yaml.Node) (any, error) {
	var long string
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		if long = intrinsics[n.Tag]; long == "" {
			return nil, &yamlError{n, "unknown tag " + n.Tag}
		}
	}
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		var s []any
		for _, c := range n.Content {
			val, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if long != "" {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, err
		}
	}
	if long == "" {
		return v, nil
	}
	if long == "Fn::GetAtt" { // !GetAtt A.B is {"Fn::GetAtt": ["A", "B"]}
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
	}
	return map[string]any{long: v}, nil
}

type yamlError struct {
	n   *yaml.Node
	msg string
}

func (e *yamlError) Error() string { return "line " + strconv.Itoa(e.n.Line) + ": " + e.msg }

// template is a parsed CloudFormation template.
type template map[string]any

func (tp template) section(name string) map[string]any {
	m, _ := tp[name].(map[string]any)
	return m
}

// intrinsic returns the function and argument of a one-key intrinsic map.
func intrinsic(v any) (fn string, arg any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil
	}
	for k, a := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, a
		}
	}
	return "", nil
}

// resolve evaluates the intrinsics a value may hold for one choice of
// parameters: Ref of a parameter gives its value, Fn::If its branch; a
// Ref of a resource stays as it is.
func (tp template) resolve(t *testing.T, v any, params map[string]string) any {
	t.Helper()
	fn, arg := intrinsic(v)
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if p, ok := params[name]; ok {
			return p
		}
		return v
	case "Fn::If":
		a, _ := arg.([]any)
		if len(a) != 3 {
			t.Fatalf("Fn::If %v: want [condition, then, else]", arg)
		}
		name, _ := a[0].(string)
		if tp.condition(t, name, params) {
			return tp.resolve(t, a[1], params)
		}
		return tp.resolve(t, a[2], params)
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tp.resolve(t, e, params)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = tp.resolve(t, e, params)
		}
		return out
	}
	return v
}

// condition evaluates the condition name (Fn::Equals, Fn::Not, Condition).
func (tp template) condition(t *testing.T, name string, params map[string]string) bool {
	t.Helper()
	c, ok := tp.section("Conditions")[name]
	if !ok {
		t.Fatalf("condition %s is not defined", name)
	}
	var eval func(v any) bool
	eval = func(v any) bool {
		fn, arg := intrinsic(v)
		switch fn {
		case "Fn::Equals":
			a, _ := arg.([]any)
			if len(a) != 2 {
				t.Fatalf("condition %s: Fn::Equals %v", name, arg)
			}
			return tp.resolve(t, a[0], params) == tp.resolve(t, a[1], params)
		case "Fn::Not":
			a, _ := arg.([]any)
			return len(a) == 1 && !eval(a[0])
		case "Condition":
			s, _ := arg.(string)
			return tp.condition(t, s, params)
		}
		t.Fatalf("condition %s: %v is not supported by this test", name, v)
		return false
	}
	return eval(c)
}

// checkReferences checks that every Ref, Fn::GetAtt, Fn::Sub ${...},
// Condition and Fn::If names something the template defines.
func (tp template) checkReferences(t *testing.T) {
	t.Helper()
	defined := func(name string) bool {
		_, p := tp.section("Parameters")[name]
		_, r := tp.section("Resources")[name]
		// ServerlessHttpApi is the HTTP API SAM makes for HttpApi events.
		return p || r || strings.HasPrefix(name, "AWS::") || name == "ServerlessHttpApi"
	}
	conditionDefined := func(v any) {
		if s, _ := v.(string); tp.section("Conditions")[s] == nil {
			t.Errorf("condition %v is not defined", v)
		}
	}
	subRef := regexp.MustCompile(`\$\{([^}!]+)\}`)
	var walk func(v any)
	walk = func(v any) {
		fn, arg := intrinsic(v)
		switch fn {
		case "Ref":
			if s, _ := arg.(string); !defined(s) {
				t.Errorf("!Ref %v names nothing in the template", arg)
			}
		case "Fn::GetAtt":
			if a, _ := arg.([]any); len(a) != 2 || !defined(a[0].(string)) {
				t.Errorf("!GetAtt %v names nothing in the template", arg)
			}
		case "Fn::Sub":
			s, _ := arg.(string)
			for _, m := range subRef.FindAllStringSubmatch(s, -1) {
				if name, _, _ := strings.Cut(m[1], "."); !defined(name) {
					t.Errorf("!Sub %q: ${%s} names nothing in the template", s, m[1])
				}
			}
		case "Condition":
			conditionDefined(arg)
		case "Fn::If":
			if a, _ := arg.([]any); len(a) == 3 {
				conditionDefined(a[0])
			}
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, section := range []string{"Globals", "Resources", "Outputs", "Conditions"} {
		walk(tp[section])
	}
	for name, r := range tp.section("Resources") {
		if c, ok := r.(map[string]any)["Condition"]; ok {
			if tp.section("Conditions")[c.(string)] == nil {
				t.Errorf("resource %s: condition %v is not defined", name, c)
			}
		}
	}
}

func readTemplate(t *testing.T, path string) template {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := cfnValue(&doc)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping", path)
	}
	return m
}

// TestSAMTemplate checks sam/template.yaml against the code.
func TestSAMTemplate(t *testing.T) {
	path := filepath.Join("sam", "template.yaml")
	tp := readTemplate(t, path)
	if tp["Transform"] != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform %v, want AWS::Serverless-2016-10-31", tp["Transform"])
	}
	tp.checkReferences(t)
	templateDir, _ := filepath.Abs("sam")
	localPath := func(v any) string {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%v: want a local path", v)
		}
		return filepath.Join(templateDir, filepath.FromSlash(s))
	}

	// The Architecture parameter takes Lambda's architectures.
	archParam, _ := tp.section("Parameters")["Architecture"].(map[string]any)
	var allowed []string
	for _, a := range archParam["AllowedValues"].([]any) {
		allowed = append(allowed, a.(string))
	}
	slices.Sort(allowed)
	if !slices.Equal(allowed, archs()) {
		t.Fatalf("parameter Architecture allows %q, want %q", allowed, archs())
	}

	globals, _ := tp.section("Globals")["Function"].(map[string]any)
	resources := tp.section("Resources")
	functions := 0
	for _, arch := range archs() {
		params := map[string]string{"Architecture": arch, "OtlpEndpoint": testEndpoint, "OtlpHeaders": testHeaders}
		// The layer the template creates for arch: `layer build`'s zip.
		var layers []string
		for name, r := range resources {
			r := r.(map[string]any)
			if r["Type"] != "AWS::Serverless::LayerVersion" {
				continue
			}
			if c, ok := r["Condition"].(string); ok && !tp.condition(t, c, params) {
				continue
			}
			layers = append(layers, name)
			props := tp.resolve(t, r["Properties"], params).(map[string]any)
			if got := localPath(props["ContentUri"]); got != layerZipPath(t, arch) {
				t.Errorf("%s: layer %s is %s, want %s (layer build's zip)", arch, name, got, layerZipPath(t, arch))
			}
			if ca, _ := props["CompatibleArchitectures"].([]any); !slices.Equal(ca, []any{arch}) {
				t.Errorf("%s: layer %s is compatible with %v", arch, name, props["CompatibleArchitectures"])
			}
		}
		if len(layers) != 1 {
			t.Fatalf("%s: the template creates layers %q, want one", arch, layers)
		}
		for name, r := range resources {
			r := r.(map[string]any)
			if r["Type"] != "AWS::Serverless::Function" {
				continue
			}
			functions++
			where := arch + ": function " + name
			props := map[string]any{}
			for k, v := range globals {
				props[k] = v
			}
			for k, v := range r["Properties"].(map[string]any) {
				props[k] = v
			}
			props = tp.resolve(t, props, params).(map[string]any)
			if props["Runtime"] != "provided.al2023" || props["Handler"] != "bootstrap" {
				t.Errorf("%s: runtime %v, handler %v; want provided.al2023, bootstrap", where, props["Runtime"], props["Handler"])
			}
			if a, _ := props["Architectures"].([]any); !slices.Equal(a, []any{arch}) {
				t.Errorf("%s: architectures %v, want [%s]", where, props["Architectures"], arch)
			}
			if l, _ := props["Layers"].([]any); len(l) != 1 || !equalRef(l[0], layers[0]) {
				t.Errorf("%s: layers %v, want !Ref %s", where, props["Layers"], layers[0])
			}
			env := map[string]string{}
			vars, _ := props["Environment"].(map[string]any)["Variables"].(map[string]any)
			for k, v := range vars {
				s, ok := v.(string)
				if !ok {
					t.Errorf("%s: %s = %v, want a string or a parameter", where, k, v)
				}
				env[k] = s
			}
			checkEnv(t, where, env)
			ex := checkFunctionBuild(t, where, filepath.Join("sam", "README.md"),
				filepath.Join(localPath(props["CodeUri"]), "bootstrap"))
			checkSAMEvents(t, tp, where, props["Events"], ex)
		}
	}
	if functions != 2*len(archs()) {
		t.Errorf("%d functions, want the two examples", functions/len(archs()))
	}
}

func equalRef(v any, name string) bool {
	fn, arg := intrinsic(v)
	return fn == "Ref" && arg == name
}

// checkSAMEvents checks a function's events against its handler.
func checkSAMEvents(t *testing.T, tp template, where string, events any, ex example) {
	t.Helper()
	evs, _ := events.(map[string]any)
	if len(evs) != 1 {
		t.Errorf("%s: events %v, want one", where, events)
	}
	for name, e := range evs {
		e := e.(map[string]any)
		props, _ := e["Properties"].(map[string]any)
		switch {
		case ex.payload != "":
			if e["Type"] != "HttpApi" {
				t.Errorf("%s: event %s is %v, want HttpApi", where, name, e["Type"])
			}
			if props["PayloadFormatVersion"] != ex.payload {
				t.Errorf("%s: event %s sends payload format %v, examples/%s takes %s", where, name, props["PayloadFormatVersion"], ex.dir, ex.payload)
			}
			path, _ := props["Path"].(string)
			checkRoute(t, where, path, ex)
		case ex.batchFailures:
			if e["Type"] != "SQS" {
				t.Errorf("%s: event %s is %v, want SQS", where, name, e["Type"])
			}
			fn, arg := intrinsic(props["Queue"])
			if a, _ := arg.([]any); fn != "Fn::GetAtt" || len(a) != 2 || a[1] != "Arn" {
				t.Errorf("%s: event %s: queue %v, want !GetAtt <queue>.Arn", where, name, props["Queue"])
			} else if q, _ := tp.section("Resources")[a[0].(string)].(map[string]any); q["Type"] != "AWS::SQS::Queue" {
				t.Errorf("%s: event %s: %s is not an AWS::SQS::Queue", where, name, a[0])
			}
			if rt, _ := props["FunctionResponseTypes"].([]any); !slices.Contains(rt, any("ReportBatchItemFailures")) {
				t.Errorf("%s: examples/%s answers batchItemFailures: the event needs FunctionResponseTypes [ReportBatchItemFailures]", where, ex.dir)
			}
		default:
			t.Errorf("%s: examples/%s is neither an HTTP nor an SQS function", where, ex.dir)
		}
	}
}

// ---- Terraform ----

// tfModule is the Terraform module's blocks.
type tfModule struct {
	dir       string
	variables map[string]*hclsyntax.Body
	locals    map[string]*hclsyntax.Attribute
	blocks    map[string]*hclsyntax.Body // "resource.TYPE.NAME", "data.TYPE.NAME", "output.NAME"
}

func readModule(t *testing.T, dir string) *tfModule {
	t.Helper()
	abs, _ := filepath.Abs(dir)
	m := &tfModule{dir: abs, variables: map[string]*hclsyntax.Body{}, locals: map[string]*hclsyntax.Attribute{}, blocks: map[string]*hclsyntax.Body{}}
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	if len(files) == 0 {
		t.Fatalf("no .tf files in %s", dir)
	}
	p := hclparse.NewParser()
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s", diags.Error())
		}
		for _, b := range file.Body.(*hclsyntax.Body).Blocks {
			switch {
			case b.Type == "variable" && len(b.Labels) == 1:
				m.variables[b.Labels[0]] = b.Body
			case b.Type == "locals":
				for name, a := range b.Body.Attributes {
					m.locals[name] = a
				}
			case (b.Type == "resource" || b.Type == "data") && len(b.Labels) == 2:
				m.blocks[b.Type+"."+b.Labels[0]+"."+b.Labels[1]] = b.Body
			case b.Type == "output" && len(b.Labels) == 1:
				m.blocks["output."+b.Labels[0]] = b.Body
			}
		}
	}
	return m
}

// evalContext gives var, path and local for vars; locals are evaluated in
// the order their references allow.
func (m *tfModule) evalContext(t *testing.T, vars map[string]string) *hcl.EvalContext {
	t.Helper()
	v := map[string]cty.Value{}
	for name, body := range m.variables {
		if s, ok := vars[name]; ok {
			v[name] = cty.StringVal(s)
		} else if d, ok := body.Attributes["default"]; ok {
			val, diags := d.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %s: %s", name, diags.Error())
			}
			v[name] = val
		} else {
			t.Fatalf("variable %s has no default and the test gives it no value", name)
		}
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var":  cty.ObjectVal(v),
		"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.dir)}),
	}}
	locals := map[string]cty.Value{}
	for len(locals) < len(m.locals) {
		progress := false
		for name, a := range m.locals {
			if _, done := locals[name]; done {
				continue
			}
			ready := true
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() == "local" {
					if _, ok := locals[tr[1].(hcl.TraverseAttr).Name]; !ok {
						ready = false
					}
				}
			}
			if !ready {
				continue
			}
			ctx.Variables["local"] = cty.ObjectVal(locals)
			val, diags := a.Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("local.%s: %s", name, diags.Error())
			}
			locals[name], progress = val, true
		}
		if !progress {
			t.Fatalf("locals refer to each other in a cycle or to undefined locals")
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return ctx
}

// eval evaluates attribute attr of body with ctx.
func eval(t *testing.T, where string, body *hclsyntax.Body, attr string, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	a, ok := body.Attributes[attr]
	if !ok {
		t.Fatalf("%s has no %s", where, attr)
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s.%s: %s", where, attr, diags.Error())
	}
	return v
}

// refersTo reports whether attribute attr of body refers to want (a
// traversal such as "aws_lambda_layer_version.lambdaotel.arn").
func refersTo(body *hclsyntax.Body, attr, want string) bool {
	a, ok := body.Attributes[attr]
	if !ok {
		return false
	}
	for _, tr := range a.Expr.Variables() {
		parts := []string{tr.RootName()}
		for _, step := range tr[1:] {
			if s, ok := step.(hcl.TraverseAttr); ok {
				parts = append(parts, s.Name)
			}
		}
		if strings.Join(parts, ".") == want {
			return true
		}
	}
	return false
}

// stringList returns the strings of a list or tuple value.
func stringList(v cty.Value) []string {
	var out []string
	if v.CanIterateElements() {
		for _, e := range v.AsValueSlice() {
			out = append(out, e.AsString())
		}
	}
	return out
}

// TestTerraformModule checks the Terraform module in terraform/ against
// the code.
func TestTerraformModule(t *testing.T) {
	m := readModule(t, "terraform")
	for _, name := range []string{"otlp_endpoint", "otlp_headers", "architecture"} {
		if m.variables[name] == nil {
			t.Fatalf("variable %s is not declared", name)
		}
	}
	if s, ok := m.variables["otlp_headers"].Attributes["sensitive"]; !ok {
		t.Errorf("variable otlp_headers is not sensitive (it holds API keys)")
	} else if v, _ := s.Expr.Value(nil); v.IsKnown() && v.False() {
		t.Errorf("variable otlp_headers is not sensitive (it holds API keys)")
	}
	if len(m.variables["architecture"].Blocks) == 0 {
		t.Errorf("variable architecture has no validation")
	}
	readme := filepath.Join("terraform", "README.md")
	for _, arch := range archs() {
		ctx := m.evalContext(t, map[string]string{"architecture": arch, "otlp_endpoint": testEndpoint, "otlp_headers": testHeaders})
		layer := m.blocks["resource.aws_lambda_layer_version.lambdaotel"]
		if layer == nil {
			t.Fatalf("no aws_lambda_layer_version.lambdaotel")
		}
		if got := filepath.Clean(eval(t, "layer", layer, "filename", ctx).AsString()); got != layerZipPath(t, arch) {
			t.Errorf("%s: the layer is %s, want %s (layer build's zip)", arch, got, layerZipPath(t, arch))
		}
		if got := stringList(eval(t, "layer", layer, "compatible_architectures", ctx)); !slices.Equal(got, []string{arch}) {
			t.Errorf("%s: the layer is compatible with %q", arch, got)
		}
		functions := map[string]example{}
		for key, body := range m.blocks {
			if !strings.HasPrefix(key, "resource.aws_lambda_function.") {
				continue
			}
			name := strings.TrimPrefix(key, "resource.aws_lambda_function.")
			where := arch + ": aws_lambda_function." + name
			if rt, h := eval(t, where, body, "runtime", ctx).AsString(), eval(t, where, body, "handler", ctx).AsString(); rt != "provided.al2023" || h != "bootstrap" {
				t.Errorf("%s: runtime %s, handler %s; want provided.al2023, bootstrap", where, rt, h)
			}
			if got := stringList(eval(t, where, body, "architectures", ctx)); !slices.Equal(got, []string{arch}) {
				t.Errorf("%s: architectures %q, want [%s]", where, got, arch)
			}
			if !refersTo(body, "layers", "aws_lambda_layer_version.lambdaotel.arn") {
				t.Errorf("%s: layers do not hold aws_lambda_layer_version.lambdaotel.arn", where)
			}
			env := map[string]string{}
			for _, b := range body.Blocks {
				if b.Type == "environment" {
					for k, v := range eval(t, where+".environment", b.Body, "variables", ctx).AsValueMap() {
						env[k] = v.AsString()
					}
				}
			}
			checkEnv(t, where, env)
			// filename = data.archive_file.X.output_path, zipping the bootstrap.
			var archive *hclsyntax.Body
			for k, b := range m.blocks {
				if strings.HasPrefix(k, "data.archive_file.") && refersTo(body, "filename", k+".output_path") {
					archive = b
				}
			}
			if archive == nil {
				t.Fatalf("%s: filename is no data.archive_file's output_path", where)
			}
			src := filepath.Clean(eval(t, where+" archive", archive, "source_file", ctx).AsString())
			functions[name] = checkFunctionBuild(t, where, readme, src)
		}
		if len(functions) != 2 {
			t.Errorf("%s: %d functions, want the two examples", arch, len(functions))
		}
		for name, ex := range functions {
			where := arch + ": aws_lambda_function." + name
			switch {
			case ex.payload != "":
				checkHTTPAPI(t, m, where, name, ex, ctx)
			case ex.batchFailures:
				checkSQSMapping(t, m, where, name, ex, ctx)
			default:
				t.Errorf("%s: examples/%s is neither an HTTP nor an SQS function", where, ex.dir)
			}
		}
	}
	runTFLint(t, m.dir)
}

// checkHTTPAPI checks the integration and route of function name.
func checkHTTPAPI(t *testing.T, m *tfModule, where, name string, ex example, ctx *hcl.EvalContext) {
	t.Helper()
	found := false
	for key, body := range m.blocks {
		if !strings.HasPrefix(key, "resource.aws_apigatewayv2_integration.") || !refersTo(body, "integration_uri", "aws_lambda_function."+name+".invoke_arn") {
			continue
		}
		found = true
		integration := strings.TrimPrefix(key, "resource.")
		if got := eval(t, key, body, "payload_format_version", ctx).AsString(); got != ex.payload {
			t.Errorf("%s: %s sends payload format %s, examples/%s takes %s", where, integration, got, ex.dir, ex.payload)
		}
		routes := 0
		for rkey, rbody := range m.blocks {
			if strings.HasPrefix(rkey, "resource.aws_apigatewayv2_route.") && refersTo(rbody, "target", integration+".id") {
				routes++
				rk := eval(t, rkey, rbody, "route_key", ctx).AsString()
				_, path, _ := strings.Cut(rk, " ")
				checkRoute(t, where, path, ex)
			}
		}
		if routes == 0 {
			t.Errorf("%s: no route to %s", where, integration)
		}
	}
	if !found {
		t.Errorf("%s: no aws_apigatewayv2_integration invokes it", where)
	}
	permitted := false
	for key, body := range m.blocks {
		if strings.HasPrefix(key, "resource.aws_lambda_permission.") && refersTo(body, "function_name", "aws_lambda_function."+name+".function_name") &&
			eval(t, key, body, "principal", ctx).AsString() == "apigateway.amazonaws.com" {
			permitted = true
		}
	}
	if !permitted {
		t.Errorf("%s: API Gateway is not permitted to invoke it", where)
	}
}

// checkSQSMapping checks the event source mapping of function name.
func checkSQSMapping(t *testing.T, m *tfModule, where, name string, ex example, ctx *hcl.EvalContext) {
	t.Helper()
	found := false
	for key, body := range m.blocks {
		if !strings.HasPrefix(key, "resource.aws_lambda_event_source_mapping.") || !refersTo(body, "function_name", "aws_lambda_function."+name+".arn") {
			continue
		}
		found = true
		queue := false
		for qkey := range m.blocks {
			if strings.HasPrefix(qkey, "resource.aws_sqs_queue.") && refersTo(body, "event_source_arn", strings.TrimPrefix(qkey, "resource.")+".arn") {
				queue = true
			}
		}
		if !queue {
			t.Errorf("%s: %s reads no aws_sqs_queue", where, key)
		}
		if got := stringList(eval(t, key, body, "function_response_types", ctx)); !slices.Contains(got, "ReportBatchItemFailures") {
			t.Errorf("%s: examples/%s answers batchItemFailures: %s needs function_response_types [ReportBatchItemFailures]", where, ex.dir, key)
		}
	}
	if !found {
		t.Errorf("%s: no aws_lambda_event_source_mapping invokes it", where)
	}
}

// runTFLint runs tflint (with every rule of its bundled terraform
// ruleset) on the module when tflint is on PATH; it is not installed by
// default (see README.md).
func runTFLint(t *testing.T, dir string) {
	t.Helper()
	tflint, err := exec.LookPath("tflint")
	if err != nil {
		t.Log("tflint is not on PATH: not run (go install github.com/terraform-linters/tflint@v0.64.0)")
		return
	}
	cfg := filepath.Join(t.TempDir(), "tflint.hcl")
	os.WriteFile(cfg, []byte("plugin \"terraform\" {\n  enabled = true\n  preset  = \"all\"\n}\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tflint, "--config", cfg, "--format", "compact")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("tflint: %v\n%s", err, out)
	}
}
