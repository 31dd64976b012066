package pg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// column is what the catalog says about a target column.
type column struct {
	base string // format_type without typmod: numeric, bit, timestamp with time zone, ...
	full string // with typmod: bit(64), character varying(10)
	cast string // what the text parameter is cast to
	bits int    // width of bit(n)
}

type table struct {
	name    string
	columns map[string]*column
}

func (s *Sink) table(ctx context.Context, schema, name string, reload bool) (*table, error) {
	key := schema + "." + name
	s.mu.Lock()
	t := s.catalog[key]
	s.mu.Unlock()
	if t != nil && !reload {
		return t, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT a.attname, format_type(a.atttypid, NULL), format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, schema, name)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the columns of %s: %w", key, err), nil)
	}
	defer rows.Close()
	t = &table{name: pgx.Identifier{schema, name}.Sanitize(), columns: map[string]*column{}}
	for rows.Next() {
		var n string
		c := &column{}
		if err := rows.Scan(&n, &c.base, &c.full); err != nil {
			return nil, err
		}
		switch c.base {
		case "bit":
			c.cast = c.full // bit alone means bit(1): the cast would cut
			if i := strings.IndexByte(c.full, '('); i > 0 {
				c.bits, _ = strconv.Atoi(strings.TrimSuffix(c.full[i+1:], ")"))
			}
		case "character", "character varying", "text":
			c.cast = "text" // the assignment checks the length; a cast would cut
		default:
			c.cast = c.base
		}
		t.columns[n] = c
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, nil)
	}
	s.mu.Lock()
	s.catalog[key] = t
	s.mu.Unlock()
	return t, nil
}

// tableFor returns the run's table, reloading the catalog once when the
// table or a column is missing (it may have been altered meanwhile).
func (s *Sink) tableFor(ctx context.Context, run *sink.Run) (*table, error) {
	schema := run.Schema
	if schema == "" {
		schema = s.cfg.Schema
	}
	first := run.Rows[0]
	for reload := false; ; reload = true {
		t, err := s.table(ctx, schema, run.Table, reload)
		if err != nil {
			return nil, err
		}
		if len(t.columns) == 0 {
			if reload {
				return nil, &sink.RowError{Row: first, Err: fmt.Errorf("target table %s does not exist", pgx.Identifier{schema, run.Table}.Sanitize())}
			}
			continue
		}
		missing := ""
		for _, c := range run.Columns {
			if t.columns[c.Name] == nil {
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

func (s *Sink) writeRun(ctx context.Context, tx pgx.Tx, run *sink.Run) error {
	t, err := s.tableFor(ctx, run)
	if err != nil {
		return err
	}
	if run.Delete {
		return s.deleteRows(ctx, tx, t, run)
	}
	start := 0
	for start < len(run.Rows) {
		cols := present(run, run.Rows[start])
		end := start + 1
		limit := s.cfg.MaxParams / max(len(cols), 1)
		for end < len(run.Rows) && end-start < limit && samePresent(run, run.Rows[end], cols) {
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

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// placeholder is $n typed as the column's type. pgx sends Go strings in
// text format whatever the parameter's type, so the server's input
// function of that type parses the value once, at bind time (a
// $n::text::numeric cast would instead convert through text on every row,
// several times slower).
func placeholder(b *strings.Builder, n int, c *column) {
	b.WriteByte('$')
	b.WriteString(strconv.Itoa(n))
	b.WriteString("::")
	b.WriteString(c.cast)
}

func (s *Sink) upsert(ctx context.Context, tx pgx.Tx, t *table, run *sink.Run, cols []int, rows []*sink.Row) error {
	var q strings.Builder
	q.WriteString("INSERT INTO ")
	q.WriteString(t.name)
	q.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(ident(run.Columns[c].Name))
	}
	q.WriteString(") VALUES ")
	args := make([]any, 0, len(cols)*len(rows))
	for i, r := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for j, c := range cols {
			if j > 0 {
				q.WriteByte(',')
			}
			tc := t.columns[run.Columns[c].Name]
			v, err := s.param(tc, run.Columns[c], r.Values[c])
			if err != nil {
				return &sink.RowError{Row: r, Column: run.Columns[c].Name, Value: valueText(r.Values[c]), Err: err}
			}
			args = append(args, v)
			placeholder(&q, len(args), tc)
		}
		q.WriteByte(')')
	}
	q.WriteString(" ON CONFLICT (")
	isKey := map[int]bool{}
	for i, k := range run.Key {
		isKey[k] = true
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(ident(run.Columns[k].Name))
	}
	q.WriteString(") DO ")
	n := 0
	for _, c := range cols {
		if isKey[c] {
			continue
		}
		if n == 0 {
			q.WriteString("UPDATE SET ")
		} else {
			q.WriteByte(',')
		}
		name := ident(run.Columns[c].Name)
		q.WriteString(name + "=EXCLUDED." + name)
		n++
	}
	if n == 0 {
		q.WriteString("NOTHING")
	}
	if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
		return classify(fmt.Errorf("upserting %d rows into %s: %w", len(rows), t.name, err), rows)
	}
	return nil
}

func (s *Sink) deleteRows(ctx context.Context, tx pgx.Tx, t *table, run *sink.Run) error {
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
			q.WriteString(ident(run.Columns[k].Name))
		}
		q.WriteString(") IN (")
		args := make([]any, 0, len(rows)*len(run.Key))
		for i, r := range rows {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for j, k := range run.Key {
				if j > 0 {
					q.WriteByte(',')
				}
				if r.Values[k].Kind == event.Absent || r.Values[k].Kind == event.Null {
					return &sink.RowError{Row: r, Column: run.Columns[k].Name, Err: errors.New("delete without a key value")}
				}
				tc := t.columns[run.Columns[k].Name]
				v, err := s.param(tc, run.Columns[k], r.Values[k])
				if err != nil {
					return &sink.RowError{Row: r, Column: run.Columns[k].Name, Value: valueText(r.Values[k]), Err: err}
				}
				args = append(args, v)
				placeholder(&q, len(args), tc)
			}
			q.WriteByte(')')
		}
		q.WriteByte(')')
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return classify(fmt.Errorf("deleting %d rows from %s: %w", len(rows), t.name, err), rows)
		}
	}
	return nil
}

// param is the text (or, for bytea, the bytes) of a value for column c.
func (s *Sink) param(c *column, src event.Column, v event.Value) (any, error) {
	if v.Kind == event.Null {
		return nil, nil
	}
	if c.base == "bytea" {
		switch v.Kind {
		case event.Bytes, event.JSON:
			if v.B == nil {
				return []byte{}, nil
			}
			return v.B, nil
		case event.String, event.Enum:
			return []byte(v.S), nil
		}
		return nil, fmt.Errorf("a %s value cannot go into a bytea column", v.Kind)
	}
	switch v.Kind {
	case event.Int, event.Year:
		if c.base == "boolean" {
			return boolText(v.I != 0, v.I == 0 || v.I == 1)
		}
		return strconv.FormatInt(v.I, 10), nil
	case event.Uint:
		if c.base == "boolean" {
			return boolText(v.U != 0, v.U <= 1)
		}
		return strconv.FormatUint(v.U, 10), nil
	case event.Bit:
		switch c.base {
		case "bit", "bit varying":
			bits := strconv.FormatUint(v.U, 2)
			width := c.bits
			if width == 0 {
				width = bitWidth(src.Type, len(bits))
			}
			if len(bits) > width {
				return nil, fmt.Errorf("%d bits do not fit %s", len(bits), c.full)
			}
			return strings.Repeat("0", width-len(bits)) + bits, nil
		case "boolean":
			return boolText(v.U != 0, v.U <= 1)
		}
		return strconv.FormatUint(v.U, 10), nil
	case event.Float:
		switch {
		case math.IsNaN(v.F):
			return "NaN", nil
		case math.IsInf(v.F, 1):
			return "Infinity", nil
		case math.IsInf(v.F, -1):
			return "-Infinity", nil
		}
		return strconv.FormatFloat(v.F, 'g', -1, 64), nil
	case event.Decimal, event.String, event.Enum, event.Time:
		return v.S, nil
	case event.Bytes:
		return string(v.B), nil // into a text column: PostgreSQL checks the encoding
	case event.JSON:
		return string(v.B), nil
	case event.Set:
		if strings.HasSuffix(c.base, "[]") {
			return "{" + strings.Join(quoteMembers(v.Set), ",") + "}", nil
		}
		return strings.Join(v.Set, ","), nil
	case event.Date, event.DateTime, event.Timestamp:
		if isZeroDate(v.S) {
			if s.cfg.ZeroDates == "error" {
				return nil, errors.New("zero date (PostgreSQL cannot hold it; target.zero_dates is error)")
			}
			s.cfg.OnZeroDate()
			return nil, nil
		}
		if v.Kind == event.Timestamp && c.base == "timestamp with time zone" {
			return v.S + "+00", nil // TIMESTAMP values are UTC
		}
		return v.S, nil
	}
	return nil, fmt.Errorf("value of kind %s cannot be written", v.Kind)
}

func boolText(b, exact bool) (any, error) {
	if !exact {
		return nil, errors.New("only 0 and 1 fit a boolean column")
	}
	if b {
		return "true", nil
	}
	return "false", nil
}

// bitWidth is n of the source's bit(n), for varbit targets.
func bitWidth(srcType string, min int) int {
	if i := strings.IndexByte(srcType, '('); i > 0 {
		if n, err := strconv.Atoi(strings.TrimSuffix(srcType[i+1:], ")")); err == nil && n >= min {
			return n
		}
	}
	return min
}

func quoteMembers(m []string) []string {
	out := make([]string, len(m))
	for i, s := range m {
		out[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return out
}

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
