package verify

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the result for people: a summary line, then the
// differing keys and ranges. Keys only; never row values.
func (r *Result) WriteText(w io.Writer) {
	state := "EQUAL"
	if !r.Equal() {
		state = "DIFFERENT"
	}
	fmt.Fprintf(w, "%s: source %s %d rows, target %s %d rows, %d chunks, %d differ\n",
		state, r.Source, r.SourceRows, r.Target, r.TargetRows, r.Chunks, len(r.Ranges))
	list := func(what string, n int64, ds []Diff) {
		if n == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", what, n)
		for _, d := range ds {
			if len(d.Columns) > 0 {
				fmt.Fprintf(w, "  %s  columns: %s\n", d.Key, strings.Join(d.Columns, ", "))
			} else {
				fmt.Fprintf(w, "  %s\n", d.Key)
			}
		}
		if int64(len(ds)) < n {
			fmt.Fprintf(w, "  ... %d more\n", n-int64(len(ds)))
		}
	}
	list("missing in target", r.MissingCount, r.Missing)
	list("extra in target", r.ExtraCount, r.Extra)
	list("changed", r.ChangedCount, r.Changed)
	if len(r.Ranges) > 0 {
		fmt.Fprintf(w, "differing ranges (from exclusive, to inclusive):\n")
		for _, g := range r.Ranges {
			from, to := g.From, g.To
			if from == "" {
				from = "start"
			}
			if to == "" {
				to = "end"
			}
			fmt.Fprintf(w, "  (%s .. %s]  source %d rows %s, target %d rows %s\n", from, to, g.SourceRows, g.SourceSum, g.TargetRows, g.TargetSum)
		}
	}
	if r.Truncated {
		fmt.Fprintln(w, "(lists truncated; raise --max-diffs to see more)")
	}
}
