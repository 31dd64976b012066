package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report as one screen: a header, a line per
// partition, then members, failing checks and errors.
func (r *Report) WriteText(w io.Writer) {
	state := r.State
	if state == "" {
		state = "unknown"
	}
	fmt.Fprintf(w, "group %s  state %s  members %d  target %s  total lag %d\n", r.Group, state, len(r.Members), r.Target, r.TotalLag)
	if r.Ready != nil {
		ready := "ready"
		if !r.Ready.Ready {
			ready = fmt.Sprintf("NOT READY (%d failing)", len(r.Ready.Failing))
		}
		fmt.Fprintf(w, "readyz %s: %s\n", r.Ready.URL, ready)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPART\tCOMMITTED\tSTORED\tEND\tLAG\tMEMBER\tSTATE")
	for _, p := range r.Partitions {
		st := "-"
		if p.Stopped != "" {
			st = "STOPPED: " + p.Stopped
		} else if p.Member != "" {
			st = "running"
		}
		m := p.Member
		if m == "" {
			m = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\n", p.Topic, p.Partition, off(p.Committed), off(p.Stored), p.End, p.Lag, m, st)
	}
	tw.Flush()
	for _, m := range r.Members {
		fmt.Fprintf(w, "member %s (%s, %s): %s\n", m.Client, m.Host, m.ID, strings.Join(m.Partitions, " "))
	}
	if r.Ready != nil {
		for _, f := range r.Ready.Failing {
			if !strings.HasPrefix(f, "partition ") {
				fmt.Fprintf(w, "not ready: %s\n", f)
			}
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

func off(o int64) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}
