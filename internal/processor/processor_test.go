package processor

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRegistry(t *testing.T) {
	for _, typ := range []string{"batch", "coldstart", "decouple", "memory_limiter"} {
		f, ok := Lookup(typ)
		if !ok || f.Ignored == "" {
			t.Errorf("%s: registered %v, ignored %q; want registered as ignored", typ, ok, f.Ignored)
		}
	}
	if _, ok := Lookup("nonesuch"); ok {
		t.Error("an unregistered type was found")
	}
	decode := func(Decoder, *yaml.Node, *yaml.Node, string) any { return nil }
	newp := func(any) (Processor, error) { return nil, nil }
	if _, ok := Lookup("test_registry"); !ok { // registered once per test binary, whatever -count
		Register(Factory{Type: "test_registry", Decode: decode, New: newp})
	}
	if got := strings.Join(Types(), ","); !strings.Contains(got, "batch,coldstart,decouple,memory_limiter,test_registry") {
		t.Errorf("types %s", got)
	}
	for _, c := range []struct {
		name string
		f    Factory
		want string
	}{
		{"twice", Factory{Type: "test_registry", Decode: decode, New: newp}, `processor: type "test_registry" registered twice`},
		{"no type", Factory{Decode: decode, New: newp}, `processor: incomplete factory for type ""`},
		{"no New", Factory{Type: "test_incomplete", Decode: decode}, `processor: incomplete factory for type "test_incomplete"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != c.want {
					t.Errorf("panic %v, want %q", r, c.want)
				}
			}()
			Register(c.f)
		})
	}
}
