// Package resourceprocessor implements the collector's "resource"
// processor: a list of actions (insert, update, upsert, delete, with a
// literal value or a value copied from another attribute) applied in order
// to the attributes of every resource of a batch, in place.
package resourceprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Processor applies a resource processor's actions. It keeps no state
// between calls and is safe for concurrent use on different batches.
type Processor struct {
	actions []action
}

type action struct {
	key   string
	kind  Action
	from  string        // copy from this attribute, if set
	value pcommon.Value // else set this value
}

// New prepares the actions of cfg. It returns an error naming the action
// when one is invalid: an unknown action, an empty key, or a value that is
// not a string, integer, float or bool (Decode never produces these).
func New(cfg Config) (*Processor, error) {
	p := &Processor{actions: make([]action, 0, len(cfg.Attributes))}
	for i, a := range cfg.Attributes {
		if a.Key == "" {
			return nil, fmt.Errorf("resource processor: attributes[%d]: key is empty", i)
		}
		act := action{key: a.Key, kind: a.Action, from: a.FromAttribute}
		switch a.Action {
		case Delete:
		case Insert, Update, Upsert:
			if a.FromAttribute == "" {
				v, err := toValue(a.Value)
				if err != nil {
					return nil, fmt.Errorf("resource processor: attributes[%d] (%s %s): %w", i, a.Action, a.Key, err)
				}
				act.value = v
			}
		default:
			return nil, fmt.Errorf("resource processor: attributes[%d] (%s): unsupported action %q; supported: insert, update, upsert, delete", i, a.Key, a.Action)
		}
		p.actions = append(p.actions, act)
	}
	return p, nil
}

// toValue converts a configured value to a pdata value.
func toValue(v any) (pcommon.Value, error) {
	switch x := v.(type) {
	case string:
		return pcommon.NewValueStr(x), nil
	case bool:
		return pcommon.NewValueBool(x), nil
	case int:
		return pcommon.NewValueInt(int64(x)), nil
	case int32:
		return pcommon.NewValueInt(int64(x)), nil
	case int64:
		return pcommon.NewValueInt(x), nil
	case uint32:
		return pcommon.NewValueInt(int64(x)), nil
	case float32:
		return pcommon.NewValueDouble(float64(x)), nil
	case float64:
		return pcommon.NewValueDouble(x), nil
	case []string:
		v := pcommon.NewValueSlice()
		for _, e := range x {
			v.Slice().AppendEmpty().SetStr(e)
		}
		return v, nil
	case nil:
		return pcommon.Value{}, fmt.Errorf("no value and no from_attribute")
	}
	return pcommon.Value{}, fmt.Errorf("value %v is a %T; want a string, integer, float or bool", v, v)
}

// ProcessTraces applies the actions to every resource of td.
func (p *Processor) ProcessTraces(_ context.Context, td ptrace.Traces) error {
	rs := td.ResourceSpans()
	for i := 0; i < rs.Len(); i++ {
		p.apply(rs.At(i).Resource().Attributes())
	}
	return nil
}

// ProcessMetrics applies the actions to every resource of md.
func (p *Processor) ProcessMetrics(_ context.Context, md pmetric.Metrics) error {
	rm := md.ResourceMetrics()
	for i := 0; i < rm.Len(); i++ {
		p.apply(rm.At(i).Resource().Attributes())
	}
	return nil
}

// ProcessLogs applies the actions to every resource of ld.
func (p *Processor) ProcessLogs(_ context.Context, ld plog.Logs) error {
	rl := ld.ResourceLogs()
	for i := 0; i < rl.Len(); i++ {
		p.apply(rl.At(i).Resource().Attributes())
	}
	return nil
}

// apply runs the actions, in order, on one resource's attributes.
func (p *Processor) apply(attrs pcommon.Map) {
	for _, a := range p.actions {
		if a.kind == Delete {
			attrs.Remove(a.key)
			continue
		}
		_, exists := attrs.Get(a.key)
		if a.kind == Insert && exists || a.kind == Update && !exists {
			continue
		}
		if a.from == "" {
			a.value.CopyTo(attrs.PutEmpty(a.key))
			continue
		}
		if a.from == a.key {
			continue
		}
		if _, ok := attrs.Get(a.from); !ok {
			continue
		}
		// PutEmpty may grow the map and move its entries: look the source
		// up again afterwards.
		dst := attrs.PutEmpty(a.key)
		src, _ := attrs.Get(a.from)
		src.CopyTo(dst)
	}
}
