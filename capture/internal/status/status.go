// Package status builds the one-screen summary of `capture status`: what
// a capture has stored in Kafka (its position and snapshot progress, from
// the positions topic, read without fencing or writing), the on-demand
// snapshot requests it has not read yet, the end offsets of its topics,
// and, given the metrics address of the running process, its source lag,
// event rate and readiness.
//
// Everything is read; nothing is written. It works with the capture
// stopped (the Kafka part) or running (then --url adds the live part).
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/capture/internal/app"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/capture/internal/signals"
	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/pkg/kafka"
)

// Report is the status; its JSON is the --json output.
type Report struct {
	Capture        string          `json:"capture"`
	PositionsTopic string          `json:"positions_topic"`
	Stored         bool            `json:"stored"`
	Position       json.RawMessage `json:"position,omitempty"`
	UpdatedMs      int64           `json:"updated_ms,omitempty"`
	Snapshot       *Snapshot       `json:"snapshot,omitempty"`
	Signals        Signals         `json:"signals"`
	Topics         []Topic         `json:"topics"`
	Live           *Live           `json:"live,omitempty"`
}

// Snapshot is the snapshot progress stored with the position.
type Snapshot struct {
	Table     string   `json:"table,omitempty"` // being copied
	Rows      int64    `json:"rows"`
	Estimated int64    `json:"estimated_rows,omitempty"`
	Chunks    int64    `json:"chunks"`
	Queued    []string `json:"queued,omitempty"` // after Table
	Done      []string `json:"done,omitempty"`
}

// Signals is the on-demand request topic: End is its end offset, Next the
// offset the capture reads next (stored in the snapshot state), Pending
// the records between (requests not yet picked up, including those of
// other captures sharing the topic).
type Signals struct {
	Topic   string `json:"topic"`
	Exists  bool   `json:"exists"`
	End     int64  `json:"end_offset"`
	Next    int64  `json:"next_offset"`
	Pending int64  `json:"pending"`
}

// Topic is one of the capture's topics and its end offsets (records
// written, including transaction markers).
type Topic struct {
	Name       string  `json:"name"`
	EndOffsets []int64 `json:"end_offsets"` // by partition
	Total      int64   `json:"total"`
}

// Live is read from the running capture's HTTP endpoint.
type Live struct {
	URL          string   `json:"url"`
	Ready        bool     `json:"ready"`
	ReadyDetail  string   `json:"ready_detail,omitempty"`
	LagSeconds   *float64 `json:"source_lag_seconds,omitempty"`
	EventsTotal  float64  `json:"events_total"`
	EventsPerSec float64  `json:"events_per_second"`
	Error        string   `json:"error,omitempty"`
}

// Options are the parts of the status that are not in the config.
type Options struct {
	// URL is the capture's metrics/health base address
	// (http://host:9090); empty: no live part.
	URL string
	// Sample is the interval between the two /metrics reads that give the
	// event rate. Default 1s.
	Sample time.Duration
	// Client does the HTTP requests. Default: a client with a 5s timeout.
	Client *http.Client
}

// Collect builds the report for the capture cfg describes.
func Collect(ctx context.Context, cfg *app.Config, o Options) (*Report, error) {
	opts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	prefix := cfg.Topics.Prefix
	r := &Report{Capture: cfg.Name, PositionsTopic: prefix + ".positions", Topics: []Topic{}}
	st, err := publish.ReadStored(ctx, opts, r.PositionsTopic, cfg.Name, cfg.Transactions.Timeout)
	if err != nil {
		return nil, err
	}
	var snap snapshot.State
	if st.Found {
		r.Stored, r.Position, r.UpdatedMs = true, json.RawMessage(st.Position), st.UpdatedMs
		if snap, err = snapshot.ParseState(st.Snapshot); err != nil {
			return nil, err
		}
		if len(snap.Tables) > 0 || len(snap.Done) > 0 {
			r.Snapshot = snapshotOf(snap)
		}
	}
	if err := r.kafkaPart(ctx, opts, prefix, snap.SignalsOffset); err != nil {
		return nil, err
	}
	if o.URL != "" {
		r.Live = live(ctx, o)
	}
	return r, nil
}

func snapshotOf(s snapshot.State) *Snapshot {
	out := &Snapshot{Done: s.Done}
	for i, t := range s.Tables {
		if i == 0 {
			out.Table, out.Rows, out.Estimated, out.Chunks = t.Name(), t.Rows, t.Total, t.Chunks
			continue
		}
		out.Queued = append(out.Queued, t.Name())
	}
	return out
}

// kafkaPart lists the capture's topics (prefix.*) with their end offsets
// and the signals topic's backlog.
func (r *Report) kafkaPart(ctx context.Context, opts []kgo.Opt, prefix string, sigNext int64) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	sigTopic := signals.Topic(prefix)
	var names []string
	for _, name := range tds.Names() {
		if strings.HasPrefix(name, prefix+".") && name != r.PositionsTopic {
			names = append(names, name)
		}
	}
	r.Signals = Signals{Topic: sigTopic, Next: sigNext}
	if len(names) == 0 {
		return nil
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("listing end offsets: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		var t Topic
		t.Name = name
		n := len(tds[name].Partitions)
		t.EndOffsets = make([]int64, n)
		ends.Each(func(o kadm.ListedOffset) {
			if o.Topic == name && int(o.Partition) < n {
				t.EndOffsets[o.Partition] = o.Offset
				t.Total += o.Offset
			}
		})
		if name == sigTopic {
			r.Signals.Exists, r.Signals.End = true, t.Total
			r.Signals.Pending = max(0, t.Total-sigNext)
			continue
		}
		r.Topics = append(r.Topics, t)
	}
	return nil
}

// live reads /readyz and /metrics (twice, Sample apart, for the rate).
func live(ctx context.Context, o Options) *Live {
	base := strings.TrimRight(o.URL, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	l := &Live{URL: base}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	get := func(path string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		return resp.StatusCode, string(b), err
	}
	code, body, err := get("/readyz")
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Ready, l.ReadyDetail = code == http.StatusOK, strings.TrimSpace(body)
	_, m1, err := get("/metrics")
	if err != nil {
		l.Error = err.Error()
		return l
	}
	t1 := time.Now()
	s1 := parseMetrics(m1)
	sample := o.Sample
	if sample <= 0 {
		sample = time.Second
	}
	select {
	case <-ctx.Done():
		l.Error = ctx.Err().Error()
		return l
	case <-time.After(sample):
	}
	_, m2, err := get("/metrics")
	if err != nil {
		l.Error = err.Error()
		return l
	}
	s2 := parseMetrics(m2)
	l.EventsTotal = s2["sluice_capture_events_total"]
	l.EventsPerSec = (s2["sluice_capture_events_total"] - s1["sluice_capture_events_total"]) / time.Since(t1).Seconds()
	if v, ok := s2["sluice_capture_source_lag_seconds"]; ok {
		l.LagSeconds = &v
	}
	return l
}

// parseMetrics sums each metric's samples in the Prometheus text format.
func parseMetrics(text string) map[string]float64 {
	out := map[string]float64{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			if j := strings.LastIndexByte(rest, '}'); j >= 0 {
				rest = rest[j+1:]
			}
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			out[name] += v
		}
	}
	return out
}

// WriteText prints the report on one screen.
func (r *Report) WriteText(w io.Writer, now time.Time) {
	fmt.Fprintf(w, "capture     %s\n", r.Capture)
	if r.Stored {
		age := ""
		if r.UpdatedMs > 0 {
			age = fmt.Sprintf(" (stored %s ago)", now.Sub(time.UnixMilli(r.UpdatedMs)).Round(time.Second))
		}
		fmt.Fprintf(w, "position    %s%s\n", r.Position, age)
	} else {
		fmt.Fprintf(w, "position    none stored in %s (a first start begins at start.default)\n", r.PositionsTopic)
	}
	switch s := r.Snapshot; {
	case s == nil:
		fmt.Fprintf(w, "snapshot    none in progress\n")
	case s.Table != "":
		pct := ""
		if s.Estimated > 0 {
			pct = fmt.Sprintf(" of ~%d (%.0f%%)", s.Estimated, 100*float64(s.Rows)/float64(max(s.Estimated, s.Rows)))
		}
		fmt.Fprintf(w, "snapshot    %s: %d rows%s, %d chunks", s.Table, s.Rows, pct, s.Chunks)
		if len(s.Queued) > 0 {
			fmt.Fprintf(w, "; queued: %s", strings.Join(s.Queued, ", "))
		}
		if len(s.Done) > 0 {
			fmt.Fprintf(w, "; done: %s", strings.Join(s.Done, ", "))
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprintf(w, "snapshot    done: %s\n", strings.Join(s.Done, ", "))
	}
	if r.Signals.Exists {
		fmt.Fprintf(w, "signals     %s: end %d, capture reads from %d, %d pending\n", r.Signals.Topic, r.Signals.End, r.Signals.Next, r.Signals.Pending)
	} else {
		fmt.Fprintf(w, "signals     %s: not created yet (no request sent)\n", r.Signals.Topic)
	}
	var total int64
	for _, t := range r.Topics {
		total += t.Total
	}
	fmt.Fprintf(w, "topics      %d, %d records in all (end offsets, with transaction markers)\n", len(r.Topics), total)
	for _, t := range r.Topics {
		parts := make([]string, len(t.EndOffsets))
		for i, o := range t.EndOffsets {
			parts[i] = strconv.FormatInt(o, 10)
		}
		fmt.Fprintf(w, "  %-40s %10d  [%s]\n", t.Name, t.Total, strings.Join(parts, " "))
	}
	if l := r.Live; l != nil {
		if l.Error != "" {
			fmt.Fprintf(w, "live        %s: %s\n", l.URL, l.Error)
			return
		}
		ready := "ready"
		if !l.Ready {
			ready = "NOT READY: " + l.ReadyDetail
		}
		lag := "unknown"
		if l.LagSeconds != nil {
			lag = fmt.Sprintf("%.1fs", *l.LagSeconds)
		}
		fmt.Fprintf(w, "live        %s: %s; source lag %s; %.0f events/s (%.0f since start)\n", l.URL, ready, lag, l.EventsPerSec, l.EventsTotal)
	}
}
