package sink

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// keyAttributes are the span attributes PrintTraces shows, in this order.
var keyAttributes = []string{
	"faas.invocation_id",
	"faas.trigger",
	"faas.coldstart",
	"cloud.resource_id",
	"http.request.method",
	"http.method",
	"http.route",
	"url.path",
	"http.response.status_code",
	"http.status_code",
	"messaging.system",
	"messaging.operation.type",
	"messaging.destination.name",
	"messaging.message.id",
	"rpc.system",
	"rpc.method",
	"db.system",
	"error.type",
}

// PrintTraces writes the spans of traces to w as one tree per trace, for a
// person to read. Spans of one trace are gathered from all of traces. Each
// trace starts with a header line with its trace ID, followed by its spans,
// indented two spaces per level below their parent:
//
//	trace 0102030405060708090a0b0c0d0e0f10 (3 spans)
//	  GET /orders [server] 12.500 ms ok service.name=orders faas.invocation_id=req-1
//	    SELECT orders [client] 3.000 ms error "connection refused"
//	  retry [internal] 1.000 ms unset (parent 1111111111111111 not received)
//
// A line gives the span's name, kind, duration in milliseconds, status (and
// status message) and a few key attributes where present:
// service.name of the resource (on a root, and where it differs from the
// parent's), faas.invocation_id, faas.trigger, faas.coldstart and common
// HTTP, messaging, RPC and database attributes, then the number of events
// and links if any. A span whose parent was not received is shown as a root
// and says so. Traces are ordered by their earliest span, spans by start
// time, then name, then span ID, so the output of the same spans is always
// the same. PrintTraces returns the first error writing to w.
func PrintTraces(w io.Writer, traces []ptrace.Traces) error {
	bw := bufio.NewWriter(w)
	for i, t := range buildTrees(traces) {
		if i > 0 {
			bw.WriteString("\n")
		}
		noun := "spans"
		if t.count == 1 {
			noun = "span"
		}
		fmt.Fprintf(bw, "trace %s (%d %s)\n", t.id, t.count, noun)
		for _, n := range t.roots {
			printNode(bw, n, 1, "")
		}
	}
	return bw.Flush()
}

// node is a span in a printed tree.
type node struct {
	span     ptrace.Span
	service  string // service.name of the span's resource
	parent   *node
	children []*node
	orphan   bool // its parent was not received
	cyclic   bool // its parent is received but is its own descendant
}

type tree struct {
	id    pcommon.TraceID
	count int               // spans in the trace
	start pcommon.Timestamp // of the earliest span
	roots []*node
}

// buildTrees groups the spans of traces by trace and links them parent to
// child, in the order PrintTraces documents.
func buildTrees(traces []ptrace.Traces) []*tree {
	byTrace := map[pcommon.TraceID][]*node{}
	for _, td := range traces {
		for _, rs := range td.ResourceSpans().All() {
			service := ""
			if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
				service = v.AsString()
			}
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					byTrace[sp.TraceID()] = append(byTrace[sp.TraceID()], &node{span: sp, service: service})
				}
			}
		}
	}

	var trees []*tree
	for id, nodes := range byTrace {
		slices.SortFunc(nodes, compareNodes)
		bySpan := map[pcommon.SpanID]*node{}
		for _, n := range nodes {
			if _, dup := bySpan[n.span.SpanID()]; !dup {
				bySpan[n.span.SpanID()] = n
			}
		}
		t := &tree{id: id, count: len(nodes), start: nodes[0].span.StartTimestamp()}
		for _, n := range nodes { // sorted, so children end up sorted too
			parent, ok := bySpan[n.span.ParentSpanID()]
			switch {
			case n.span.ParentSpanID().IsEmpty():
				t.roots = append(t.roots, n)
			case !ok:
				n.orphan = true
				t.roots = append(t.roots, n)
			default:
				n.parent = parent
				parent.children = append(parent.children, n)
			}
		}

		// Spans in a cycle of parents, and their descendants, are reachable
		// from no root: break each cycle at one of its spans and show that
		// span as a root.
		seen := map[*node]bool{}
		var mark func(*node)
		mark = func(n *node) {
			seen[n] = true
			for _, c := range n.children {
				if !seen[c] {
					mark(c)
				}
			}
		}
		for _, r := range t.roots {
			mark(r)
		}
		for _, n := range nodes {
			if seen[n] {
				continue
			}
			onPath := map[*node]bool{}
			m := n
			for !onPath[m] {
				onPath[m] = true
				m = m.parent
			}
			m.parent.children = slices.DeleteFunc(m.parent.children, func(c *node) bool { return c == m })
			m.parent = nil
			m.cyclic = true
			t.roots = append(t.roots, m)
			mark(m)
		}
		trees = append(trees, t)
	}
	slices.SortFunc(trees, func(a, b *tree) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return strings.Compare(a.id.String(), b.id.String())
	})
	return trees
}

// compareNodes orders spans by start time, then name, then span ID.
func compareNodes(a, b *node) int {
	if c := cmp.Compare(a.span.StartTimestamp(), b.span.StartTimestamp()); c != 0 {
		return c
	}
	if c := strings.Compare(a.span.Name(), b.span.Name()); c != 0 {
		return c
	}
	return strings.Compare(a.span.SpanID().String(), b.span.SpanID().String())
}

func printNode(w *bufio.Writer, n *node, depth int, parentService string) {
	sp := n.span
	w.WriteString(strings.Repeat("  ", depth))
	w.WriteString(sp.Name())
	fmt.Fprintf(w, " [%s]", strings.ToLower(sp.Kind().String()))
	ms := float64(sp.EndTimestamp().AsTime().Sub(sp.StartTimestamp().AsTime()).Microseconds()) / 1000
	fmt.Fprintf(w, " %.3f ms", ms)
	fmt.Fprintf(w, " %s", strings.ToLower(sp.Status().Code().String()))
	if m := sp.Status().Message(); m != "" {
		fmt.Fprintf(w, " %q", m)
	}
	if n.service != "" && n.service != parentService {
		fmt.Fprintf(w, " service.name=%s", formatValue(n.service))
	}
	for _, k := range keyAttributes {
		if v, ok := sp.Attributes().Get(k); ok {
			fmt.Fprintf(w, " %s=%s", k, formatValue(v.AsString()))
		}
	}
	if c := sp.Events().Len(); c > 0 {
		fmt.Fprintf(w, " events=%d", c)
	}
	if c := sp.Links().Len(); c > 0 {
		fmt.Fprintf(w, " links=%d", c)
	}
	switch {
	case n.orphan:
		fmt.Fprintf(w, " (parent %s not received)", sp.ParentSpanID())
	case n.cyclic:
		fmt.Fprintf(w, " (parent %s is in a cycle)", sp.ParentSpanID())
	}
	w.WriteString("\n")
	for _, c := range n.children {
		printNode(w, c, depth+1, n.service)
	}
}

// formatValue quotes s if it is empty or has spaces, quotes or control
// characters, so that key=value pairs stay readable.
func formatValue(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' || r == 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}
