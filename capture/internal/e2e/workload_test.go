package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The workload's tables. Every row carries ver, the number of changes its
// key has had so far, counting deletes: an insert writes ver = n+1, an
// update sets ver = ver+1 and a delete is change ver+1 of its key. So the
// changes of each key, read back from Kafka, must be exactly 1..N in order
// (validate). ledger gets one row per source transaction, id = the
// writer's transaction number, n = the row changes before it: it ties the
// Kafka events back to the writer's transactions and, on Galera, tells
// whether a commit whose answer was lost happened.
var workloadTables = []string{"a", "b"}

const ledgerTable = "ledger"

var workloadSchema = []string{
	"CREATE TABLE a (id INT PRIMARY KEY, ver INT NOT NULL, v VARCHAR(40) NOT NULL)",
	"CREATE TABLE b (id INT PRIMARY KEY, ver INT NOT NULL, v VARCHAR(40) NOT NULL, note TEXT)",
	"CREATE TABLE ledger (id BIGINT PRIMARY KEY, ver INT NOT NULL, n INT NOT NULL)",
}

// rowKey names one row: table and primary key.
type rowKey struct {
	Table string
	ID    int64
}

func (k rowKey) String() string { return fmt.Sprintf("%s/%d", k.Table, k.ID) }

// truth is what the source committed, as the validator needs it.
type truth struct {
	// Versions is the number of changes of each key (its last version).
	Versions map[rowKey]int
	// TxRows is the number of row events of each writer transaction,
	// ledger row included, by transaction number (= ledger id).
	TxRows map[int64]int
}

func (tr truth) changes() int {
	n := 0
	for _, v := range tr.Versions {
		n += v
	}
	return n
}

// workload plans random transactions over a small key space (so keys get
// many versions) and keeps the truth of the committed ones. It is used by
// one goroutine.
type workload struct {
	rng   *rand.Rand
	keys  int
	count map[rowKey]int
	live  map[rowKey]bool
	tr    truth
	seq   int64
}

func newWorkload(seed uint64, keys int) *workload {
	return &workload{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), keys: keys,
		count: map[rowKey]int{}, live: map[rowKey]bool{},
		tr: truth{Versions: map[rowKey]int{}, TxRows: map[int64]int{}}}
}

// stmt is one SQL statement with its arguments.
type stmt struct {
	q    string
	args []any
}

// txPlan is one planned source transaction: its statements and what they
// do to each key, in order.
type txPlan struct {
	seq     int64
	stmts   []stmt
	changes []rowKey        // one entry per row event, ledger row last
	count   map[rowKey]int  // versions after the transaction, touched keys
	live    map[rowKey]bool // existence after the transaction, touched keys
}

func (p *txPlan) ver(w *workload, k rowKey) int {
	if v, ok := p.count[k]; ok {
		return v
	}
	return w.count[k]
}

func (p *txPlan) isLive(w *workload, k rowKey) bool {
	if v, ok := p.live[k]; ok {
		return v
	}
	return w.live[k]
}

// pick returns up to n distinct ids of table whose liveness is live.
func (w *workload) pick(p *txPlan, table string, n int, live bool) []int64 {
	var ids []int64
	seen := map[int64]bool{}
	for try := 0; try < 4*n+8 && len(ids) < n; try++ {
		id := int64(1 + w.rng.IntN(w.keys))
		if !seen[id] && p.isLive(w, rowKey{table, id}) == live {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// plan makes the next transaction: 1 to 4 statements, each a multi-row
// insert, update or delete of 1 to 3 rows, then the ledger row.
func (w *workload) plan() *txPlan {
	w.seq++
	p := &txPlan{seq: w.seq, count: map[rowKey]int{}, live: map[rowKey]bool{}}
	for range 1 + w.rng.IntN(4) {
		table := workloadTables[w.rng.IntN(len(workloadTables))]
		r := w.rng.IntN(10)
		if r < 4 {
			if ids := w.pick(p, table, 1+w.rng.IntN(3), false); len(ids) > 0 {
				var vals []string
				var args []any
				for _, id := range ids {
					k := rowKey{table, id}
					v := p.ver(w, k) + 1
					p.count[k], p.live[k] = v, true
					p.changes = append(p.changes, k)
					vals = append(vals, "(?, ?, ?)")
					args = append(args, id, v, fmt.Sprintf("tx%d-%s-v%d", p.seq, k, v))
				}
				p.stmts = append(p.stmts, stmt{"INSERT INTO " + table + " (id, ver, v) VALUES " + strings.Join(vals, ", "), args})
				continue
			}
		}
		del := r >= 8
		ids := w.pick(p, table, 1+w.rng.IntN(3), true)
		if len(ids) == 0 {
			continue
		}
		args := []any{}
		if !del {
			args = append(args, fmt.Sprintf("tx%d", p.seq))
		}
		marks := make([]string, len(ids))
		for i, id := range ids {
			k := rowKey{table, id}
			p.count[k] = p.ver(w, k) + 1
			if del {
				p.live[k] = false
			}
			p.changes = append(p.changes, k)
			marks[i] = "?"
			args = append(args, id)
		}
		q := "UPDATE " + table + " SET ver = ver + 1, v = ? WHERE id IN (" + strings.Join(marks, ", ") + ")"
		if del {
			q = "DELETE FROM " + table + " WHERE id IN (" + strings.Join(marks, ", ") + ")"
		}
		p.stmts = append(p.stmts, stmt{q, args})
	}
	lk := rowKey{ledgerTable, p.seq}
	p.count[lk], p.live[lk] = 1, true
	p.stmts = append(p.stmts, stmt{"INSERT INTO ledger (id, ver, n) VALUES (?, 1, ?)", []any{p.seq, len(p.changes)}})
	p.changes = append(p.changes, lk)
	return p
}

// commit records p as committed.
func (w *workload) commit(p *txPlan) {
	for k, v := range p.count {
		w.count[k] = v
		w.tr.Versions[k] = v
	}
	for k, v := range p.live {
		w.live[k] = v
	}
	w.tr.TxRows[p.seq] = len(p.changes)
}

// execTx runs p as one transaction on db. An error leaves the outcome of
// the commit unknown only if it came from the COMMIT itself (commitErr).
func execTx(ctx context.Context, db *sql.DB, p *txPlan) (commitErr bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	for _, s := range p.stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			_ = tx.Rollback()
			return false, fmt.Errorf("%s: %w", s.q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return true, fmt.Errorf("commit: %w", err)
	}
	return false, nil
}

// createSchema creates the workload's tables in db.
func createSchema(ctx context.Context, db *sql.DB) error {
	for _, q := range workloadSchema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
