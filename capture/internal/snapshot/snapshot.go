// Package snapshot holds what the snapshotters of both sources share:
// the progress stored with the capture position (State), on-demand
// requests (Signal), and progress reporting (Progress, Meter). The
// copying itself is source-specific (binlog, mongo).
package snapshot

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"go.uber.org/zap"
)

// State is the snapshot progress stored in the position record's
// "snapshot" member (schemas/position.schema.json): the tables still to
// copy, the first being copied now, and how far. Its JSON is what a
// restarted capture resumes from.
type State struct {
	// Tables is the queue; Tables[0] is the table being copied.
	Tables []Table `json:"tables,omitzero"`
	// Done lists the tables finished since the queue was last empty.
	Done []string `json:"done,omitzero"`
	// SignalsOffset is the next offset of the signals topic to read
	// (on-demand requests before it are in Tables or done).
	SignalsOffset int64 `json:"signals_offset,omitzero"`
}

// Table is one table's progress.
type Table struct {
	DB    string `json:"db"`
	Table string `json:"table"`
	// After is the key of the last row emitted, in key order, each value
	// as text (After64: base64 of binary values); empty before the first
	// chunk.
	After   []string `json:"after,omitzero"`
	After64 bool     `json:"after_base64,omitzero"`
	// Rows copied so far and the estimate of the total
	// (information_schema.TABLES.TABLE_ROWS when the table started).
	Rows      int64 `json:"rows"`
	Total     int64 `json:"total_estimate,omitzero"`
	StartedMs int64 `json:"started_ms,omitzero"`
	// Chunks emitted so far.
	Chunks int64 `json:"chunks,omitzero"`
}

// Name is "db.table".
func (t Table) Name() string { return t.DB + "." + t.Table }

// ParseState reads the stored state; "" is no snapshot.
func ParseState(s string) (State, error) {
	var st State
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("stored snapshot state %s: %w", s, err)
	}
	return st, nil
}

// JSON is the stored form; "" when there is nothing to remember.
func (s State) JSON() string {
	if len(s.Tables) == 0 && len(s.Done) == 0 && s.SignalsOffset == 0 {
		return ""
	}
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	return string(b)
}

// Clone is a copy that shares no slices with s.
func (s State) Clone() State {
	c := s
	c.Tables = append([]Table(nil), s.Tables...)
	c.Done = append([]string(nil), s.Done...)
	return c
}

// Has reports whether db.table is queued.
func (s State) Has(db, table string) bool {
	for _, t := range s.Tables {
		if t.DB == db && t.Table == table {
			return true
		}
	}
	return false
}

// Signal is an on-demand snapshot request: tables ("db.table") and the
// offset after it in the signals topic.
type Signal struct {
	Tables []string
	Next   int64
}

// Progress is reported after every chunk of a table.
type Progress struct {
	DB, Table string
	Rows      int64   // rows copied
	Total     int64   // estimated rows (information_schema)
	RowsPerS  float64 // since the table started in this run
	ETA       time.Duration
	Done      bool
}

// ErrDone ends Run with snapshot mode initial_only once the
// initial snapshot is committed.
var ErrDone = errors.New("initial snapshot complete (snapshot.mode initial_only)")

// Meter reports and logs snapshot progress (every 10s and at the
// end of a table): rows done, the estimate, the rate of the table in this
// run and the ETA. Both sources' snapshotters use it.
type Meter struct {
	Report func(Progress) // nil: log only
	Log    *zap.Logger
	Noun   string // "table" or "collection", in log lines

	start   time.Time // the current table's start in this run
	rows    int64     // its rows copied in this run
	lastLog time.Time
}

// Begin starts the rate of a table (a new one, or the first in this run).
func (m *Meter) Begin() { m.start, m.rows = time.Now(), 0 }

// Continue starts the rate of a table resumed in this run, unless started.
func (m *Meter) Continue() {
	if m.start.IsZero() {
		m.Begin()
	}
}

// Chunk counts a chunk of rows of t emitted (t as after the chunk) and
// reports; done is the table's last chunk.
func (m *Meter) Chunk(t Table, rows int, done bool) {
	m.Continue()
	m.rows += int64(rows)
	p := Progress{DB: t.DB, Table: t.Table, Rows: t.Rows, Total: max(t.Total, t.Rows), Done: done}
	if el := time.Since(m.start).Seconds(); el > 0 {
		p.RowsPerS = float64(m.rows) / el
	}
	if p.RowsPerS > 0 && p.Total > p.Rows && !done {
		p.ETA = time.Duration(float64(p.Total-p.Rows) / p.RowsPerS * float64(time.Second))
	}
	if m.Report != nil {
		m.Report(p)
	}
	if done || time.Since(m.lastLog) >= 10*time.Second {
		m.lastLog = time.Now()
		msg := "snapshot progress"
		if done {
			msg = "snapshot of " + m.Noun + " complete"
		}
		m.Log.Info(msg, zap.String(m.Noun, t.Name()), zap.Int64("rows", p.Rows), zap.Int64("estimated_total", p.Total),
			zap.Int64("chunks", t.Chunks), zap.Float64("rows_per_s", float64(int64(p.RowsPerS))), zap.Duration("eta", p.ETA.Round(time.Second)))
	}
	if done {
		m.start = time.Time{}
	}
}
