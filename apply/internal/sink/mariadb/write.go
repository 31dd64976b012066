package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// table is what the target's catalog says about one table.
type table struct {
	name    string            // quoted db.table
	columns map[string]string // column name -> DATA_TYPE
}

func (s *Sink) table(ctx context.Context, db, name string, reload bool) (*table, error) {
	key := db + "." + name
	s.mu.Lock()
	t := s.catalog[key]
	s.mu.Unlock()
	if t != nil && !reload {
		return t, nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, name)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the columns of %s: %w", key, err), nil)
	}
	defer rows.Close()
	t = &table{name: quote(db, name), columns: map[string]string{}}
	for rows.Next() {
		var c, typ string
		if err := rows.Scan(&c, &typ); err != nil {
			return nil, err
		}
		t.columns[c] = strings.ToLower(typ)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, nil)
	}
	s.mu.Lock()
	s.catalog[key] = t
	s.mu.Unlock()
	return t, nil
}

// tableFor returns the run's table, reloading the catalog once when a
// column is missing (the table may have been altered since it was read).
func (s *Sink) tableFor(ctx context.Context, run *sink.Run) (*table, error) {
	db := run.Schema
	if db == "" {
		db = s.cfg.Database
	}
	first := run.Rows[0]
	for reload := false; ; reload = true {
		t, err := s.table(ctx, db, run.Table, reload)
		if err != nil {
			return nil, err
		}
		if len(t.columns) == 0 {
			if reload {
				return nil, &sink.RowError{Row: first, Err: fmt.Errorf("target table %s does not exist", quote(db, run.Table))}
			}
			continue
		}
		missing := ""
		for _, c := range run.Columns {
			if _, ok := t.columns[c.Name]; !ok {
				missing = c.Name
				break
			}
		}
		if missing == "" {
			return t, nil
		}
		if reload {
			return nil, &sink.RowError{Row: first, Column: missing, Err: fmt.Errorf("target table %s has no column %q (add it, or exclude or rename it in the mapping)", t.name, missing)}
		}
	}
}

// writeRun writes one run with as few statements as the placeholder limit
// and the rows' present columns allow.
func (s *Sink) writeRun(ctx context.Context, tx *sql.Tx, run *sink.Run) error {
	t, err := s.tableFor(ctx, run)
	if err != nil {
		return err
	}
	if run.Delete {
		return s.deleteRows(ctx, tx, t, run)
	}
	// Rows of one statement share their present (non-Absent) columns.
	start := 0
	for start < len(run.Rows) {
		cols := present(run, run.Rows[start])
		end := start + 1
		max := s.cfg.MaxParams / max(len(cols), 1)
		for end < len(run.Rows) && end-start < max && samePresent(run, run.Rows[end], cols) {
			end++
		}
		if err := s.upsert(ctx, tx, t, run, cols, run.Rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func present(run *sink.Run, r *sink.Row) []int {
	cols := make([]int, 0, len(run.Columns))
	for i := range run.Columns {
		if r.Values[i].Kind != event.Absent {
			cols = append(cols, i)
		}
	}
	return cols
}

func samePresent(run *sink.Run, r *sink.Row, cols []int) bool {
	n := 0
	for i := range run.Columns {
		if r.Values[i].Kind != event.Absent {
			if n >= len(cols) || cols[n] != i {
				return false
			}
			n++
		}
	}
	return n == len(cols)
}

func (s *Sink) upsert(ctx context.Context, tx *sql.Tx, t *table, run *sink.Run, cols []int, rows []*sink.Row) error {
	var q strings.Builder
	q.WriteString("INSERT INTO ")
	q.WriteString(t.name)
	q.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(quote(run.Columns[c].Name))
	}
	q.WriteString(") VALUES ")
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	args := make([]any, 0, len(cols)*len(rows))
	for i, r := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(ph)
		for _, c := range cols {
			v, err := s.param(t, run.Columns[c], r.Values[c])
			if err != nil {
				return &sink.RowError{Row: r, Column: run.Columns[c].Name, Value: valueText(r.Values[c]), Err: err}
			}
			args = append(args, v)
		}
	}
	q.WriteString(" ON DUPLICATE KEY UPDATE ")
	isKey := map[int]bool{}
	for _, k := range run.Key {
		isKey[k] = true
	}
	n := 0
	for _, c := range cols {
		if isKey[c] {
			continue
		}
		if n > 0 {
			q.WriteByte(',')
		}
		name := quote(run.Columns[c].Name)
		q.WriteString(name + "=VALUES(" + name + ")")
		n++
	}
	if n == 0 { // only key columns: nothing to update
		name := quote(run.Columns[run.Key[0]].Name)
		q.WriteString(name + "=" + name)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return classify(fmt.Errorf("upserting %d rows into %s: %w", len(rows), t.name, err), rows)
	}
	return nil
}

func (s *Sink) deleteRows(ctx context.Context, tx *sql.Tx, t *table, run *sink.Run) error {
	per := max(s.cfg.MaxParams/len(run.Key), 1)
	for start := 0; start < len(run.Rows); start += per {
		rows := run.Rows[start:min(start+per, len(run.Rows))]
		var q strings.Builder
		q.WriteString("DELETE FROM ")
		q.WriteString(t.name)
		q.WriteString(" WHERE (")
		for i, k := range run.Key {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(quote(run.Columns[k].Name))
		}
		q.WriteString(") IN (")
		ph := "(" + strings.TrimSuffix(strings.Repeat("?,", len(run.Key)), ",") + ")"
		args := make([]any, 0, len(rows)*len(run.Key))
		for i, r := range rows {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(ph)
			for _, k := range run.Key {
				if r.Values[k].Kind == event.Absent || r.Values[k].Kind == event.Null {
					return &sink.RowError{Row: r, Column: run.Columns[k].Name, Err: errors.New("delete without a key value")}
				}
				v, err := s.param(t, run.Columns[k], r.Values[k])
				if err != nil {
					return &sink.RowError{Row: r, Column: run.Columns[k].Name, Value: valueText(r.Values[k]), Err: err}
				}
				args = append(args, v)
			}
		}
		q.WriteByte(')')
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return classify(fmt.Errorf("deleting %d rows from %s: %w", len(rows), t.name, err), rows)
		}
	}
	return nil
}

// param converts a value to a driver argument. Numbers go as numbers,
// exact text forms (decimals, temporal values) as text the server parses
// exactly, bytes as bytes.
func (s *Sink) param(t *table, c event.Column, v event.Value) (any, error) {
	switch v.Kind {
	case event.Null:
		return nil, nil
	case event.Int, event.Year:
		return v.I, nil
	case event.Uint, event.Bit:
		// The server stores an integer into a BIT column as its bits.
		return v.U, nil
	case event.Float:
		return v.F, nil
	case event.Decimal, event.String, event.Enum:
		return v.S, nil
	case event.Bytes:
		if v.B == nil {
			return []byte{}, nil
		}
		return v.B, nil
	case event.JSON:
		return string(v.B), nil
	case event.Set:
		return strings.Join(v.Set, ","), nil
	case event.Date, event.DateTime, event.Timestamp:
		if isZeroDate(v.S) {
			switch s.cfg.ZeroDates {
			case "null":
				s.cfg.OnZeroDate()
				return nil, nil
			case "error":
				return nil, errors.New("zero date (target.zero_dates is error)")
			}
		}
		return v.S, nil
	case event.Time:
		return v.S, nil
	}
	return nil, fmt.Errorf("value of kind %s cannot be written", v.Kind)
}

// isZeroDate reports MySQL's zero and partly-zero dates (0000-00-00,
// 2024-00-10): values no other database can hold.
func isZeroDate(s string) bool {
	if len(s) < 10 {
		return false
	}
	return s[:4] == "0000" || s[5:7] == "00" || s[8:10] == "00"
}

func valueText(v event.Value) string {
	switch v.Kind {
	case event.Int, event.Year:
		return strconv.FormatInt(v.I, 10)
	case event.Uint, event.Bit:
		return strconv.FormatUint(v.U, 10)
	case event.Float:
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	case event.Bytes, event.JSON:
		if len(v.B) > 64 {
			return string(v.B[:64]) + "..."
		}
		return string(v.B)
	case event.Set:
		return strings.Join(v.Set, ",")
	case event.Null:
		return "NULL"
	}
	if len(v.S) > 64 {
		return v.S[:64] + "..."
	}
	return v.S
}
