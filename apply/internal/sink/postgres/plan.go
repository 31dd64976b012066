package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// part is what one statement writes: consecutive rows of one sink.Run that
// have the same present (non-Absent) columns, at most MaxParams values,
// already converted for the target columns.
type part struct {
	del  bool
	t    *table
	cols []*column // columns written; for a delete, the key columns
	// key indexes cols: the key columns, for ON CONFLICT.
	key []int
	// src indexes the rows' Values for each of cols.
	src  []int
	rows []*sink.Row
	// vals holds len(rows)*len(cols) values, row by row; nil is NULL.
	// A bytea value is raw bytes (binary format), any other text.
	vals [][]byte
	// formats is one format code per column: 1 (binary) for bytea.
	formats []int16
}

// row returns a part of just row i, to find which row a statement
// failed on.
func (p *part) row(i int) *part {
	q := *p
	n := len(p.cols)
	q.rows, q.vals = p.rows[i:i+1], p.vals[i*n:(i+1)*n]
	return &q
}

// plan turns rows into parts, converting every value. It counts zero
// dates written as NULL.
func (s *Sink) plan(ctx context.Context, rows []sink.Row) (parts []*part, zeros int, err error) {
	runs := sink.Runs(rows)
	for i := range runs {
		run := &runs[i]
		schema := run.Schema
		if schema == "" {
			schema = s.cfg.Schema
		}
		t, cols, err := s.resolve(ctx, schema, run)
		if err != nil {
			return nil, 0, err
		}
		if parts, err = s.planRun(run, t, cols, parts, &zeros); err != nil {
			return nil, 0, err
		}
	}
	return parts, zeros, nil
}

// resolve finds the run's table and the target column of each run
// column (nil where a delete does not need it), reloading the table once
// when a column is missing: it may have been added since it was cached.
func (s *Sink) resolve(ctx context.Context, schema string, run *sink.Run) (*table, []*column, error) {
	first := run.Rows[0]
	for reload := false; ; reload = true {
		t, err := s.table(ctx, schema, run.Table, reload)
		if err != nil {
			return nil, nil, err
		}
		if t == nil {
			return nil, nil, &sink.RowError{Row: first,
				Err: fmt.Errorf("target table %s does not exist", pgx.Identifier{schema, run.Table}.Sanitize())}
		}
		cols := make([]*column, len(run.Columns))
		missing := ""
		for i, c := range run.Columns {
			if run.Delete && !isKey(run.Key, i) {
				continue
			}
			if cols[i] = t.cols[c.Name]; cols[i] == nil && missing == "" {
				missing = c.Name
			}
		}
		if missing == "" {
			return t, cols, nil
		}
		if reload {
			return nil, nil, &sink.RowError{Row: first, Column: missing,
				Err: fmt.Errorf("target table %s has no column %q", t.ident, missing)}
		}
	}
}

func isKey(key []int, i int) bool {
	for _, k := range key {
		if k == i {
			return true
		}
	}
	return false
}

// planRun appends the parts of one run.
func (s *Sink) planRun(run *sink.Run, t *table, cols []*column, parts []*part, zeros *int) ([]*part, error) {
	first := run.Rows[0]
	if len(run.Key) == 0 {
		return nil, &sink.RowError{Row: first, Err: errors.New("the row has no key columns to upsert or delete by")}
	}
	if run.Delete {
		return s.split(run, t, cols, run.Key, run.Rows, parts, zeros)
	}
	keyNames := make([]string, len(run.Key))
	for i, k := range run.Key {
		keyNames[i] = run.Columns[k].Name
	}
	if !t.hasUnique(keyNames) {
		return nil, &sink.RowError{Row: first, Err: fmt.Errorf(
			"target table %s has no primary key or unique index on (%s), which the upsert needs",
			t.ident, strings.Join(keyNames, ", "))}
	}
	for _, c := range cols {
		if c.generated {
			return nil, &sink.RowError{Row: first, Column: c.name,
				Err: fmt.Errorf("column %s of %s is generated and cannot be written", c.name, t.ident)}
		}
	}
	// Rows of one statement must write the same columns. Absent values
	// are rare (Maxwell partial images), so rows are grouped as they come:
	// splitting only where the present columns change keeps run order.
	all := make([]int, len(run.Columns))
	for i := range all {
		all[i] = i
	}
	var (
		present []int
		from    int
	)
	for i, r := range run.Rows {
		p := presentColumns(r, run.Key, all)
		if i > 0 && !slices.Equal(p, present) {
			var err error
			if parts, err = s.split(run, t, cols, present, run.Rows[from:i], parts, zeros); err != nil {
				return nil, err
			}
			from = i
		}
		present = p
	}
	return s.split(run, t, cols, present, run.Rows[from:], parts, zeros)
}

// presentColumns lists the indexes of r's non-Absent values (all, when
// none is absent); key columns are always included (an absent key value
// is an error found when converting).
func presentColumns(r *sink.Row, key, all []int) []int {
	absent := false
	for i := range r.Values {
		absent = absent || r.Values[i].Kind == event.Absent
	}
	if !absent {
		return all
	}
	out := make([]int, 0, len(r.Values))
	for i := range r.Values {
		if r.Values[i].Kind != event.Absent || isKey(key, i) {
			out = append(out, i)
		}
	}
	return out
}

// split converts rows (which all write the run columns idx) into parts of
// at most MaxParams values.
func (s *Sink) split(run *sink.Run, t *table, cols []*column, idx []int, rows []*sink.Row, parts []*part, zeros *int) ([]*part, error) {
	per := max(s.cfg.MaxParams/len(idx), 1)
	for len(rows) > 0 {
		n := min(per, len(rows))
		p, err := s.convert(run, t, cols, idx, rows[:n], zeros)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		rows = rows[n:]
	}
	return parts, nil
}

// convert builds one part, converting its values into a single buffer.
func (s *Sink) convert(run *sink.Run, t *table, cols []*column, idx []int, rows []*sink.Row, zeros *int) (*part, error) {
	p := &part{del: run.Delete, t: t, rows: rows, src: idx, cols: make([]*column, len(idx)), formats: make([]int16, len(idx))}
	for j, i := range idx {
		p.cols[j] = cols[i]
		if cols[i].fam == famBytea {
			p.formats[j] = 1
		}
		if isKey(run.Key, i) {
			p.key = append(p.key, j)
		}
	}
	// Values are appended to one buffer and sliced afterwards (the buffer
	// may move while it grows): one allocation instead of one per value.
	var (
		buf   = make([]byte, 0, 16*len(idx)*len(rows))
		spans = make([]int, 0, 2*len(idx)*len(rows))
		err   error
	)
	for _, r := range rows {
		for j, i := range idx {
			c, v := p.cols[j], &r.Values[i]
			switch {
			case v.Kind == event.Absent || v.Kind == event.Null:
				if isKey(run.Key, i) {
					return nil, &sink.RowError{Row: r, Column: c.name, Value: valueText(v), Err: errors.New("a key value is missing")}
				}
				spans = append(spans, -1, -1)
				continue
			}
			start := len(buf)
			buf, err = encode(buf, c, &run.Columns[i], v)
			switch {
			case err == errZeroDate && s.cfg.ZeroDates == "null" && !isKey(run.Key, i):
				buf = buf[:start]
				spans = append(spans, -1, -1)
				*zeros++
				continue
			case err != nil:
				if err == errZeroDate {
					err = fmt.Errorf("%w (zero_dates: %s)", err, s.cfg.ZeroDates)
				}
				return nil, &sink.RowError{Row: r, Column: c.name, Value: valueText(v),
					Err: fmt.Errorf("converting for %s column %s.%s: %w", c.typ, t.ident, pgIdent(c.name), err)}
			}
			spans = append(spans, start, len(buf))
		}
	}
	p.vals = make([][]byte, len(spans)/2)
	for k := range p.vals {
		if a, b := spans[2*k], spans[2*k+1]; a >= 0 {
			p.vals[k] = buf[a:b:b]
		}
	}
	return p, nil
}

func itoa(n int64) []byte { return strconv.AppendInt(nil, n, 10) }
