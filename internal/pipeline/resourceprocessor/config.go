package resourceprocessor

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// Factory registers the type "resource".
var Factory = processor.Factory{
	Type:   "resource",
	Decode: Decode,
	New: func(cfg any) (processor.Processor, error) {
		c, ok := cfg.(*Config)
		if !ok {
			return nil, fmt.Errorf("resource processor: configuration is a %T", cfg)
		}
		return New(*c)
	},
}

// Config configures the resource processor: actions applied, in order, to
// the attributes of every resource.
type Config struct {
	Attributes []AttributeAction
}

// Action is what an AttributeAction does.
type Action string

// The supported actions.
const (
	Insert Action = "insert" // set the key if it is absent
	Update Action = "update" // set the key if it is present
	Upsert Action = "upsert" // set the key
	Delete Action = "delete" // remove the key
)

// AttributeAction is one entry of the attributes list. For insert, update
// and upsert exactly one of Value and FromAttribute is set; for delete
// neither is.
type AttributeAction struct {
	Key    string
	Action Action
	// Value is a string, int64, float64 or bool.
	Value any
	// FromAttribute names another resource attribute whose value is copied;
	// the action does nothing when that attribute is absent.
	FromAttribute string
}

// String describes the configuration for `config check`.
func (c *Config) String() string {
	var parts []string
	for _, a := range c.Attributes {
		switch {
		case a.Action == Delete:
			parts = append(parts, fmt.Sprintf("delete %s", a.Key))
		case a.FromAttribute != "":
			parts = append(parts, fmt.Sprintf("%s %s from %s", a.Action, a.Key, a.FromAttribute))
		default:
			parts = append(parts, fmt.Sprintf("%s %s=%s", a.Action, a.Key, formatValue(a.Value)))
		}
	}
	return "resource attributes: " + strings.Join(parts, "; ")
}

func formatValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// Decode reads the processor's options: attributes, a non-empty list of
// {key, action, value or from_attribute}.
func Decode(d processor.Decoder, key, value *yaml.Node, path string) any {
	f := d.Fields(value, path, []string{"attributes"})
	a, ok := f["attributes"]
	if !ok || processor.IsNull(a.Value) {
		d.Errorf(key, "%s: attributes is required: a list of {key, action, value or from_attribute}", path)
		return nil
	}
	items := processor.Deref(a.Value)
	if items.Kind != yaml.SequenceNode || len(items.Content) == 0 {
		d.Errorf(items, "%s.attributes: expected a non-empty list of {key, action, value or from_attribute}, got %s", path, processor.Describe(items))
		return nil
	}
	cfg := &Config{}
	for i, item := range items.Content {
		ip := fmt.Sprintf("%s.attributes[%d]", path, i)
		if act, ok := attributeAction(d, processor.Deref(item), ip); ok {
			cfg.Attributes = append(cfg.Attributes, act)
		}
	}
	return cfg
}

func attributeAction(d processor.Decoder, n *yaml.Node, path string) (AttributeAction, bool) {
	var a AttributeAction
	nerr := d.Mistakes()
	f := d.Fields(n, path, []string{"key", "value", "action", "from_attribute"})
	if d.Mistakes() > nerr {
		return a, false
	}
	a.Key, _ = d.Scalar(f["key"].Value, path+".key")
	if a.Key == "" {
		d.Errorf(n, "%s: key is required", path)
	}
	actionEntry, hasAction := f["action"]
	if !hasAction || processor.IsNull(actionEntry.Value) {
		d.Errorf(n, "%s: action is required; supported: insert, update, upsert, delete", path)
		return a, false
	}
	a.Action = Action(d.OneOf(actionEntry.Value, path+".action", "insert", "update", "upsert", "delete"))
	if a.Action == "" {
		return a, false
	}
	a.FromAttribute, _ = d.Scalar(f["from_attribute"].Value, path+".from_attribute")
	valueEntry, hasValue := f["value"]
	hasValue = hasValue && !processor.IsNull(valueEntry.Value)
	if hasValue {
		a.Value = attributeValue(d, processor.Deref(valueEntry.Value), path+".value")
	}
	switch {
	case a.Action == Delete && (hasValue || a.FromAttribute != ""):
		d.Errorf(n, "%s: action delete takes neither value nor from_attribute", path)
	case a.Action != Delete && hasValue && a.FromAttribute != "":
		d.Errorf(n, "%s: set value or from_attribute, not both", path)
	case a.Action != Delete && !hasValue && a.FromAttribute == "":
		d.Errorf(n, "%s: action %s needs value or from_attribute", path, a.Action)
	}
	return a, d.Mistakes() == nerr
}

// attributeValue decodes a scalar as string, int64, float64 or bool.
func attributeValue(d processor.Decoder, n *yaml.Node, path string) any {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "%s: expected a string, number or true/false, got %s", path, processor.Describe(n))
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.Errorf(n, "%s: %v", path, err)
		return nil
	}
	switch x := v.(type) {
	case string, bool, float64:
		return x
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		if x > 1<<63-1 {
			d.Errorf(n, "%s: %d is too large for an attribute (at most %d)", path, x, int64(1<<63-1))
			return nil
		}
		return int64(x)
	}
	// Timestamps and other YAML types: keep the text.
	return n.Value
}
