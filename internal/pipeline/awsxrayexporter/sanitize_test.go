package awsxrayexporter

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// span adds a span named name, started at start, to td's first scope.
func span(td ptrace.Traces, name string, start time.Time) ptrace.Span {
	rss := td.ResourceSpans()
	if rss.Len() == 0 {
		rss.AppendEmpty().ScopeSpans().AppendEmpty()
	}
	sp := rss.At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	sp.SetName(name)
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(len(name))})
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	return sp
}

func names(parts []ptrace.Traces) []string {
	var out []string
	for _, td := range parts {
		var ns []string
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					ns = append(ns, sss.At(j).Spans().At(k).Name())
				}
			}
		}
		out = append(out, strings.Join(ns, ","))
	}
	return out
}

// TestSanitize checks each limit of X-Ray's OTLP endpoint: what is fixed,
// what is taken out (and counted by reason) and how requests are parted.
func TestSanitize(t *testing.T) {
	big := strings.Repeat("é", 60_000) // 120 KB of two-byte runes
	for _, c := range []struct {
		name     string
		build    func(td ptrace.Traces)
		parts    []string // span names per request
		removed  map[string]int64
		truncate int64
		events   int64
		links    int64
		check    func(t *testing.T, parts []ptrace.Traces)
	}{
		{name: "nothing to do", build: func(td ptrace.Traces) {
			span(td, "a", now.Add(-time.Minute))
			span(td, "b", now)
		}, parts: []string{"a,b"}},
		{name: "zero ids", build: func(td ptrace.Traces) {
			span(td, "ok", now)
			span(td, "no-trace", now).SetTraceID(pcommon.TraceID{})
			span(td, "no-span", now).SetSpanID(pcommon.SpanID{})
		}, parts: []string{"ok"}, removed: map[string]int64{ReasonInvalidID: 2}},
		{name: "start times out of range", build: func(td ptrace.Traces) {
			span(td, "old", now.Add(-15*24*time.Hour))
			span(td, "13 days", now.Add(-13*24*time.Hour))
			span(td, "ahead", now.Add(3*time.Hour))
			span(td, "1h ahead", now.Add(time.Hour))
		}, parts: []string{"13 days", "1h ahead"}, removed: map[string]int64{ReasonTooOld: 1, ReasonFuture: 1}},
		{name: "a long value is cut", build: func(td ptrace.Traces) {
			sp := span(td, "large", now)
			sp.Attributes().PutStr("db.query.text", big)
			sp.Attributes().PutStr("b", big)
		}, parts: []string{"large"}, truncate: 2, check: func(t *testing.T, parts []ptrace.Traces) {
			v, _ := parts[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("db.query.text")
			if len(v.Str()) != 4096 || !strings.HasPrefix(big, v.Str()) {
				t.Errorf("cut value: %d bytes, a prefix: %v", len(v.Str()), strings.HasPrefix(big, v.Str()))
			}
		}},
		{name: "many events are dropped and counted on the span", build: func(td ptrace.Traces) {
			sp := span(td, "chatty", now)
			for range 300 {
				ev := sp.Events().AppendEmpty()
				ev.SetName("event")
				for k := range 20 {
					ev.Attributes().PutStr(strings.Repeat("k", k+1), strings.Repeat("v", 60))
				}
			}
		}, parts: []string{"chatty"}, events: 300, check: func(t *testing.T, parts []ptrace.Traces) {
			sp := parts[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			if sp.Events().Len() != 0 || sp.DroppedEventsCount() != 300 {
				t.Errorf("events %d, dropped_events_count %d", sp.Events().Len(), sp.DroppedEventsCount())
			}
		}},
		{name: "too many attributes: taken out", build: func(td ptrace.Traces) {
			span(td, "ok", now)
			sp := span(td, "huge", now)
			for k := range 20_000 {
				sp.Attributes().PutInt(strings.Repeat("x", 10)+string(rune('a'+k%26))+strings.Repeat("y", k%7)+time.Duration(k).String(), int64(k))
			}
		}, parts: []string{"ok"}, removed: map[string]int64{ReasonTooLarge: 1}},
		{name: "spans more than 24 hours apart: separate requests", build: func(td ptrace.Traces) {
			span(td, "day-1", now.Add(-48*time.Hour))
			span(td, "today", now)
			span(td, "day-1b", now.Add(-47*time.Hour))
		}, parts: []string{"day-1,day-1b", "today"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			c.build(td)
			before := td.SpanCount()
			parts, rep := Sanitize(td, Marks{}, DefaultLimits, now)
			if got := names(parts); strings.Join(got, "|") != strings.Join(c.parts, "|") {
				t.Errorf("requests %q, want %q", got, c.parts)
			}
			if rep.Requests != len(c.parts) {
				t.Errorf("report says %d requests", rep.Requests)
			}
			for r, n := range c.removed {
				if rep.Removed[r] != n {
					t.Errorf("removed for %q: %d, want %d", r, rep.Removed[r], n)
				}
			}
			if rep.Dropped() != sum(c.removed) {
				t.Errorf("dropped %d, want %d", rep.Dropped(), sum(c.removed))
			}
			if rep.TruncatedValues != c.truncate || rep.DroppedEvents != c.events || rep.DroppedLinks != c.links {
				t.Errorf("fixed: %d values, %d events, %d links; want %d, %d, %d", rep.TruncatedValues, rep.DroppedEvents, rep.DroppedLinks, c.truncate, c.events, c.links)
			}
			if td.SpanCount() != before {
				t.Errorf("the input lost spans: %d, was %d", td.SpanCount(), before)
			}
			for _, p := range parts {
				for i := 0; i < p.ResourceSpans().Len(); i++ {
					sss := p.ResourceSpans().At(i).ScopeSpans()
					for j := 0; j < sss.Len(); j++ {
						for k := 0; k < sss.At(j).Spans().Len(); k++ {
							if n := exactSize(sss.At(j).Spans().At(k)); n > DefaultLimits.SpanBytes {
								t.Errorf("a span of %d bytes is sent", n)
							}
						}
					}
				}
			}
			if c.check != nil {
				c.check(t, parts)
			}
		})
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestSanitizeLogGroups checks aws_log_groups: set as aws.log.group.names
// on resources that have neither it nor aws.log.group.arns, as upstream
// orders them.
func TestSanitizeLogGroups(t *testing.T) {
	td := ptrace.NewTraces()
	for _, set := range []string{"", "aws.log.group.names", "aws.log.group.arns"} {
		rs := td.ResourceSpans().AppendEmpty()
		if set != "" {
			rs.Resource().Attributes().PutEmptySlice(set).AppendEmpty().SetStr("own")
		}
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(pcommon.SpanID{1})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	}
	parts, _ := Sanitize(td, Marks{LogGroups: []string{"/aws/lambda/orders", "shared"}}, DefaultLimits, now)
	rss := parts[0].ResourceSpans()
	want := []string{`["/aws/lambda/orders","shared"]`, `["own"]`, ""}
	for i, w := range want {
		v, ok := rss.At(i).Resource().Attributes().Get("aws.log.group.names")
		got := ""
		if ok {
			got = toJSON(v.Slice().AsRaw())
		}
		if got != w {
			t.Errorf("resource %d: aws.log.group.names %s, want %s", i, got, w)
		}
	}
}

func toJSON(v []any) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, `"`+x.(string)+`"`)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestSanitizeAnnotations checks indexed_attributes and
// index_all_attributes: the keys go in aws.xray.annotations after those
// the span lists already, only for values annotations allow.
func TestSanitizeAnnotations(t *testing.T) {
	for _, c := range []struct {
		name string
		m    Marks
		want string
	}{
		{"none", Marks{}, "[own.key]"},
		{"indexed", Marks{Indexed: []string{"order.id", "missing", "tags", "own.key"}}, "[own.key,order.id]"},
		{"all", Marks{IndexAll: true}, "[own.key,count,order.id,own.key2,paid]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			sp := span(td, "s", now)
			attrs := sp.Attributes()
			attrs.PutStr("order.id", "o-1")
			attrs.PutInt("count", 3)
			attrs.PutBool("paid", true)
			attrs.PutEmptySlice("tags").AppendEmpty().SetStr("x")
			attrs.PutStr("own.key", "v")
			attrs.PutStr("own.key2", "v")
			attrs.PutEmptySlice(AnnotationsKey).AppendEmpty().SetStr("own.key")
			parts, _ := Sanitize(td, c.m, DefaultLimits, now)
			v, _ := parts[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get(AnnotationsKey)
			var got []string
			for i := 0; i < v.Slice().Len(); i++ {
				got = append(got, v.Slice().At(i).Str())
			}
			if g := "[" + strings.Join(got, ",") + "]"; g != c.want {
				if c.name != "all" || !sameSet(got, c.want) {
					t.Errorf("%s = %s, want %s", AnnotationsKey, g, c.want)
				}
			}
		})
	}
}

// sameSet compares got with want ("[a,b]") ignoring order after the
// first key (a map's order is not fixed).
func sameSet(got []string, want string) bool {
	w := strings.Split(strings.Trim(want, "[]"), ",")
	if len(got) != len(w) || got[0] != w[0] {
		return false
	}
	m := map[string]bool{}
	for _, x := range w {
		m[x] = true
	}
	for _, x := range got {
		if !m[x] {
			return false
		}
	}
	return true
}
