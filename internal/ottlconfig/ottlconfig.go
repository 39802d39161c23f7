// Package ottlconfig reads the lists of OTTL conditions and statements in
// the configuration of the filter and transform processors, in the
// collector's two styles: a flat list of strings, or a list of groups
// (mappings with a context, an error_mode and the conditions or
// statements).
package ottlconfig

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lambdaotel/lambdaotel/internal/ottlsubset"
	"github.com/lambdaotel/lambdaotel/internal/processor"
)

// ErrorMode reads an error_mode value (any case); "" when it is null or
// was reported as not one of ottlsubset.ErrorModes.
func ErrorMode(d processor.Decoder, n *yaml.Node, path string) ottlsubset.ErrorMode {
	return ottlsubset.ErrorMode(strings.ToLower(d.OneOf(n, path, ottlsubset.ErrorModes...)))
}

// Group is one entry of a list in the group style.
type Group struct {
	// Path is its place in messages, e.g. "processors.filter.trace_conditions[0]".
	Path string
	// Node is the group's mapping.
	Node *yaml.Node
	// Fields are its entries by key.
	Fields map[string]processor.Entry
	// ErrorMode is the group's error_mode, else the one List was given.
	ErrorMode ottlsubset.ErrorMode
}

// List reads n (at path), a list of what (strings) or of groups with the
// keys given; form names the group's keys in messages, e.g. "{context,
// error_mode, conditions}". It returns either the flat list's sequence or
// the groups whose keys read without mistakes, each with its error_mode
// (mode when it has none); nil and nil when n is null, empty or was
// reported: a mapping, a scalar, or both styles mixed.
func List(d processor.Decoder, n *yaml.Node, path, what, form string, keys []string, mode ottlsubset.ErrorMode) (*yaml.Node, []Group) {
	n = processor.Deref(n)
	if processor.IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "%s: expected a list of %s or of %s, got %s", path, what, form, processor.Describe(n))
		return nil, nil
	}
	var flat, grouped bool
	for _, item := range n.Content {
		if processor.Deref(item).Kind == yaml.MappingNode {
			grouped = true
		} else {
			flat = true
		}
	}
	if flat && grouped {
		d.Errorf(n, "%s: configuring multiple configuration styles is not supported: write only %s (strings) or only groups %s", path, what, form)
		return nil, nil
	}
	if flat {
		return n, nil
	}
	var groups []Group
	for i, item := range n.Content {
		g := Group{Path: fmt.Sprintf("%s[%d]", path, i), Node: item, ErrorMode: mode}
		nerr := d.Mistakes()
		g.Fields = d.Fields(item, g.Path, keys)
		if d.Mistakes() > nerr {
			continue
		}
		if e, ok := g.Fields["error_mode"]; ok {
			if m := ErrorMode(d, e.Value, g.Path+".error_mode"); m != "" {
				g.ErrorMode = m
			}
		}
		groups = append(groups, g)
	}
	return nil, groups
}
