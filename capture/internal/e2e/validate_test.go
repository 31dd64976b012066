package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/format"
)

// change is one row event as a consumer read it, reduced to what the
// validator checks.
type change struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       rowKey
	Op        string // insert, update, delete
	Version   int    // the key's change number (see workload)
	TxID      string // source transaction id: the GTID, else the XID
	XID       uint64 // Maxwell only (Format "maxwell")
	Format    string
	Index     int  // 0-based row index in the source transaction
	Last      bool // marked as the transaction's last row
}

// parseRecord reads a Maxwell- or Debezium-style record of the workload's
// tables (the sluice.format header says which).
func parseRecord(r *kgo.Record) (change, error) {
	c := change{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	f := ""
	for _, h := range r.Headers {
		switch h.Key {
		case format.HeaderFormat:
			f = string(h.Value)
			c.Format = f
		case format.HeaderTxLast:
			c.Last = string(h.Value) == "true"
		}
	}
	type row struct {
		ID  *int64 `json:"id"`
		Ver *int   `json:"ver"`
	}
	var err error
	var data row
	switch f {
	case format.Maxwell:
		var m struct {
			Table   string  `json:"table"`
			Type    string  `json:"type"`
			XID     *uint64 `json:"xid"`
			XOffset *int    `json:"xoffset"`
			Commit  bool    `json:"commit"`
			GTID    string  `json:"gtid"`
			Data    row     `json:"data"`
		}
		if err = json.Unmarshal(r.Value, &m); err != nil {
			break
		}
		if m.XID == nil || m.XOffset == nil {
			err = errors.New("no xid or xoffset")
			break
		}
		c.Key.Table, c.Op, c.XID, c.Index, c.Last, data = m.Table, m.Type, *m.XID, *m.XOffset, m.Commit, m.Data
		c.TxID = m.GTID
		if c.TxID == "" {
			c.TxID = fmt.Sprintf("xid:%d", m.XID)
		}
	case format.Debezium:
		var d struct {
			Before *row   `json:"before"`
			After  *row   `json:"after"`
			Op     string `json:"op"`
			Source struct {
				Table string `json:"table"`
			} `json:"source"`
			Transaction *struct {
				ID         string `json:"id"`
				TotalOrder int    `json:"total_order"`
			} `json:"transaction"`
		}
		if err = json.Unmarshal(r.Value, &d); err != nil {
			break
		}
		if d.Transaction == nil || d.Transaction.TotalOrder < 1 {
			err = errors.New("no transaction block")
			break
		}
		c.Key.Table, c.TxID, c.Index = d.Source.Table, d.Transaction.ID, d.Transaction.TotalOrder-1
		switch d.Op {
		case "c":
			c.Op = "insert"
		case "u":
			c.Op = "update"
		case "d":
			c.Op = "delete"
		default:
			err = fmt.Errorf("op %q", d.Op)
		}
		if d.After != nil {
			data = *d.After
		} else if d.Before != nil {
			data = *d.Before
		}
	default:
		err = fmt.Errorf("%s header %q", format.HeaderFormat, f)
	}
	if err == nil && (data.ID == nil || data.Ver == nil) {
		err = errors.New("row without id or ver")
	}
	if err != nil {
		return c, fmt.Errorf("record %s/%d@%d: %w: %s", r.Topic, r.Partition, r.Offset, err, r.Value)
	}
	c.Key.ID, c.Version = *data.ID, *data.Ver
	if c.Op == "delete" {
		c.Version++ // a delete is the change after the row's last version
	}
	return c, nil
}

// report is the validator's verdict.
type report struct {
	Events, Keys, Txs                          int
	Duplicates, Missing, Reordered, Unexpected int
	// TxErrors counts source transactions whose events do not form one
	// complete, marked transaction (G5).
	TxErrors int
	Problems []string // the first problems, described
}

func (r *report) problem(format string, args ...any) {
	if len(r.Problems) < 20 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

func (r report) ok() bool {
	return r.Duplicates == 0 && r.Missing == 0 && r.Reordered == 0 && r.Unexpected == 0 && r.TxErrors == 0 && len(r.Problems) == 0
}

func (r report) String() string {
	s := fmt.Sprintf("events=%d keys=%d transactions=%d duplicates=%d missing=%d reordered=%d unexpected=%d tx_errors=%d",
		r.Events, r.Keys, r.Txs, r.Duplicates, r.Missing, r.Reordered, r.Unexpected, r.TxErrors)
	if len(r.Problems) > 0 {
		s += "\n  " + strings.Join(r.Problems, "\n  ")
	}
	return s
}

// validate checks the events a read_committed consumer read (in the
// order it read them, so each partition's order is kept) against what the
// source committed:
//
//   - G1/G3: every change of every key once: versions 1..N with no gap
//     (missing) and no repeat (duplicates); nothing the source never
//     committed (unexpected);
//   - G2: a key's changes in source order (reordered), all in one
//     partition;
//   - G5: every event has a transaction id; the events of one source
//     transaction have row indexes 0..n-1, the last one alone is marked,
//     and they are exactly the writer's transaction (its ledger row and
//     its row count). The Maxwell-style xid is on every row: the writer's
//     transactions are far below the rows capture holds back for the XID
//     (capture/internal/binlog/doc.go).
func validate(tr truth, evs []change) report {
	r := report{Events: len(evs), Keys: len(tr.Versions), Txs: len(tr.TxRows)}
	type keyState struct {
		seen      map[int]bool
		max       int
		partition string
	}
	keys := map[rowKey]*keyState{}
	firsts := make([]change, 0, len(evs)) // first delivery of each change
	for _, e := range evs {
		ks := keys[e.Key]
		if ks == nil {
			ks = &keyState{seen: map[int]bool{}, partition: fmt.Sprintf("%s/%d", e.Topic, e.Partition)}
			keys[e.Key] = ks
		}
		if p := fmt.Sprintf("%s/%d", e.Topic, e.Partition); p != ks.partition {
			r.problem("key %s in two partitions: %s and %s", e.Key, ks.partition, p)
		}
		switch {
		case e.Version < 1 || e.Version > tr.Versions[e.Key]:
			r.Unexpected++
			r.problem("unexpected: %s version %d (%s at %s/%d@%d), the source committed %d versions", e.Key, e.Version, e.Op, e.Topic, e.Partition, e.Offset, tr.Versions[e.Key])
			continue
		case ks.seen[e.Version]:
			r.Duplicates++
			r.problem("duplicate: %s version %d again at %s/%d@%d", e.Key, e.Version, e.Topic, e.Partition, e.Offset)
			continue
		case e.Version < ks.max:
			r.Reordered++
			r.problem("reordered: %s version %d at %s/%d@%d after version %d", e.Key, e.Version, e.Topic, e.Partition, e.Offset, ks.max)
		}
		ks.seen[e.Version] = true
		ks.max = max(ks.max, e.Version)
		firsts = append(firsts, e)
	}
	missingKeys := 0
	for _, k := range sortedKeys(tr.Versions) {
		n, seen := tr.Versions[k], 0
		if ks := keys[k]; ks != nil {
			seen = len(ks.seen) // only versions 1..n get in
		}
		if seen == n {
			continue
		}
		r.Missing += n - seen
		if missingKeys++; missingKeys <= 5 {
			for v := 1; v <= n; v++ {
				if ks := keys[k]; ks == nil || !ks.seen[v] {
					r.problem("missing: %s version %d of %d (%d of its versions missing)", k, v, n, n-seen)
					break
				}
			}
		}
	}
	validateTxs(tr, firsts, &r)
	return r
}

// validateTxs checks the transaction markers (G5) on the first delivery
// of each change.
func validateTxs(tr truth, evs []change, r *report) {
	groups := map[string][]change{}
	for _, e := range evs {
		if e.TxID == "" {
			r.TxErrors++
			r.problem("no transaction id: %s version %d at %s/%d@%d", e.Key, e.Version, e.Topic, e.Partition, e.Offset)
			continue
		}
		groups[e.TxID] = append(groups[e.TxID], e)
	}
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		g := groups[id]
		sort.Slice(g, func(i, j int) bool { return g[i].Index < g[j].Index })
		bad := ""
		var ledger *change
		for i := range g {
			e := &g[i]
			switch {
			case e.Index != i:
				bad = fmt.Sprintf("row index %d where %d was expected", e.Index, i)
			case e.Last != (i == len(g)-1):
				bad = fmt.Sprintf("row %d of %d marked last=%v", i, len(g), e.Last)
			case e.Format == "maxwell" && e.XID == 0:
				bad = fmt.Sprintf("no xid on row %d of %d", i, len(g))
			case e.XID != 0 && e.XID != g[len(g)-1].XID:
				bad = fmt.Sprintf("xid %d and %d in one transaction", e.XID, g[len(g)-1].XID)
			}
			if bad != "" {
				break
			}
			if e.Key.Table == ledgerTable {
				ledger = e
			}
		}
		switch {
		case bad != "":
		case ledger == nil:
			bad = "no ledger row: not one of the writer's transactions"
		case tr.TxRows[ledger.Key.ID] != len(g):
			bad = fmt.Sprintf("writer transaction %d had %d row events, this transaction has %d", ledger.Key.ID, tr.TxRows[ledger.Key.ID], len(g))
		}
		if bad != "" {
			r.TxErrors++
			r.problem("transaction %s: %s", id, bad)
		}
	}
}

func sortedKeys(m map[rowKey]int) []rowKey {
	ks := make([]rowKey, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].Table != ks[j].Table {
			return ks[i].Table < ks[j].Table
		}
		return ks[i].ID < ks[j].ID
	})
	return ks
}

// consume reads topics from the start as a read_committed consumer until
// want events arrived, then for settle more (so duplicates past want show
// up too), or until timeout. It returns the events in the order read,
// which keeps each partition's order.
func consume(t *testing.T, brokers, topics []string, want int, settle, timeout time.Duration) []change {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var evs []change
	var enough time.Time
	bad := 0
	for ctx.Err() == nil {
		if len(evs) >= want {
			if enough.IsZero() {
				enough = time.Now()
			} else if time.Since(enough) > settle {
				break
			}
		}
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			c, err := parseRecord(r)
			if err != nil {
				if bad++; bad <= 5 {
					t.Errorf("unreadable event: %v", err)
				}
				return
			}
			evs = append(evs, c)
		})
	}
	if len(evs) < want {
		t.Logf("consumer: %d of %d events within %s", len(evs), want, timeout)
	}
	return evs
}
