package main

import (
	"strings"
	"testing"
)

func TestSpliceSection(t *testing.T) {
	const kept = "## Hostile input\n\nby hand\n"
	tests := []struct {
		name, doc, body, want, err string
	}{
		{name: "new file", doc: "", body: "figures",
			want: resultsHeader + "\n<!-- begin s -->\nfigures\n<!-- end s -->\n"},
		{name: "replaces its own section, keeps the rest",
			doc:  "# T\n\n<!-- begin s -->\nold\nrows\n<!-- end s -->\n\n" + kept + "<!-- begin o -->\nother\n<!-- end o -->\n",
			body: "new\n",
			want: "# T\n\n<!-- begin s -->\nnew\n<!-- end s -->\n\n" + kept + "<!-- begin o -->\nother\n<!-- end o -->\n"},
		{name: "appends a missing section", doc: "# T\n\n" + kept, body: "new",
			want: "# T\n\n" + kept + "\n<!-- begin s -->\nnew\n<!-- end s -->\n"},
		{name: "begin without end", doc: "<!-- begin s -->\nx\n", body: "y", err: "no end marker"},
		{name: "end without begin", doc: "x\n<!-- end s -->\n", body: "y", err: "no begin marker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spliceSection(tt.doc, "s", tt.body)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}
