package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// plan is a run checked against the target catalog.
type plan struct {
	run    *sink.Run
	schema string
	name   string    // `schema`.`table`
	cols   []*column // target column of each run column; nil if never written
}

var (
	errNoTable      = errors.New("the target has no such table")
	errNoColumn     = errors.New("the target table has no such column")
	errNoKey        = errors.New("a key column has no value")
	errNoKeyColumns = errors.New("the row has no key columns")
	errNoSchema     = errors.New("no database: the row names none and the config has no default")
)

// value is row r's value of run column j; Absent past the end.
func value(r *sink.Row, j int) event.Value {
	if j < len(r.Values) {
		return r.Values[j]
	}
	return event.Value{}
}

// plan resolves the run's table and columns. A column the rows write but
// the target lacks is fatal (G6): writing the other columns would drop
// data silently. The catalog is read again once before concluding that,
// since the table may have gained the column since it was cached.
func (s *Sink) plan(ctx context.Context, run *sink.Run) (*plan, error) {
	p := &plan{run: run, schema: run.Schema}
	if p.schema == "" {
		p.schema = s.cfg.Database
	}
	if p.schema == "" {
		return nil, &sink.RowError{Row: run.Rows[0], Err: errNoSchema}
	}
	if len(run.Key) == 0 {
		// Without a key neither the upsert nor the delete is idempotent.
		return nil, &sink.RowError{Row: run.Rows[0], Err: errNoKeyColumns}
	}
	p.name = quoteName(p.schema, run.Table)
	written := make([]*sink.Row, len(run.Columns)) // first row writing each column
	if run.Delete {
		for _, k := range run.Key {
			written[k] = run.Rows[0]
		}
	} else {
		for _, r := range run.Rows {
			for j := range run.Columns {
				if written[j] == nil && value(r, j).Kind != event.Absent {
					written[j] = r
				}
			}
		}
	}
	for _, r := range run.Rows {
		for _, k := range run.Key {
			if value(r, k).Kind == event.Absent {
				return nil, &sink.RowError{Row: r, Column: run.Columns[k].Name, Err: errNoKey}
			}
		}
	}
	missing := func(t *table) int {
		for j, r := range written {
			if r != nil && t.column(run.Columns[j].Name) == nil {
				return j
			}
		}
		return -1
	}
	t, err := s.cat.get(ctx, p.schema, run.Table, false)
	if err == nil && (t == nil || missing(t) >= 0) {
		s.log.Info("reloading the target table's columns", zapTable(p.schema, run.Table))
		t, err = s.cat.get(ctx, p.schema, run.Table, true)
	}
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, &sink.RowError{Row: run.Rows[0], Err: errNoTable}
	}
	if j := missing(t); j >= 0 {
		return nil, &sink.RowError{Row: written[j], Column: run.Columns[j].Name, Value: valueText(value(written[j], j)), Err: errNoColumn}
	}
	p.cols = make([]*column, len(run.Columns))
	for j, r := range written {
		if r != nil {
			p.cols[j] = t.column(run.Columns[j].Name)
		}
	}
	return p, nil
}

// writeRun writes a run in as few statements as the limits allow.
func (s *Sink) writeRun(ctx context.Context, tx *sql.Tx, p *plan) error {
	rows := p.run.Rows
	for len(rows) > 0 {
		cols := p.run.Key
		if !p.run.Delete {
			cols = present(p.run.Columns, rows[0])
		}
		n := s.chunk(rows, cols, p.run.Delete)
		if err := s.exec(ctx, tx, p, rows[:n], cols); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// present lists the columns r has a value for: an upsert writes those and
// leaves the others as the target has them.
func present(cols []event.Column, r *sink.Row) []int {
	out := make([]int, 0, len(cols))
	for j := range cols {
		if value(r, j).Kind != event.Absent {
			out = append(out, j)
		}
	}
	return out
}

// chunk is how many of rows, from the first, one statement writes: rows
// that write the same columns (one statement has one column list), within
// MaxParams placeholders and half the server's max_allowed_packet.
func (s *Sink) chunk(rows []*sink.Row, cols []int, del bool) int {
	maxRows := max(s.cfg.MaxParams/max(len(cols), 1), 1)
	budget := s.maxPacket / 2
	size := rowSize(rows[0], cols)
	n := 1
	for n < len(rows) && n < maxRows {
		r := rows[n]
		if !del && !samePresence(rows[0], r, len(rows[0].Values)) {
			break
		}
		size += rowSize(r, cols)
		if budget > 0 && size > budget {
			break
		}
		n++
	}
	return n
}

func samePresence(a, b *sink.Row, n int) bool {
	if len(b.Values) != n {
		return false
	}
	for j := range n {
		if (a.Values[j].Kind == event.Absent) != (b.Values[j].Kind == event.Absent) {
			return false
		}
	}
	return true
}

// rowSize estimates the bytes row r adds to a statement.
func rowSize(r *sink.Row, cols []int) int {
	n := 0
	for _, j := range cols {
		v := value(r, j)
		n += 12 + 2*len(v.S) + 2*len(v.B) // escaping may double text (interpolateParams)
		for _, m := range v.Set {
			n += len(m) + 1
		}
	}
	return n
}

// build returns the statement writing rows and its arguments.
func (s *Sink) build(p *plan, rows []*sink.Row, cols []int) (string, []any, error) {
	args := make([]any, 0, len(rows)*len(cols))
	for _, r := range rows {
		for _, j := range cols {
			v := value(r, j)
			a, err := s.param(v, &p.run.Columns[j], p.cols[j])
			if err != nil {
				return "", nil, &sink.RowError{Row: r, Column: p.run.Columns[j].Name, Value: valueText(v), Err: err}
			}
			args = append(args, a)
		}
	}
	var b strings.Builder
	tuple := "(?" + strings.Repeat(",?", len(cols)-1) + ")"
	if p.run.Delete {
		b.Grow(64 + len(p.name) + len(rows)*(len(tuple)+1))
		b.WriteString("DELETE FROM ")
		b.WriteString(p.name)
		b.WriteString(" WHERE ")
		if len(cols) == 1 {
			b.WriteString(quoteIdent(p.cols[cols[0]].name))
			b.WriteString(" IN (?")
			b.WriteString(strings.Repeat(",?", len(rows)-1))
			b.WriteString(")")
			return b.String(), args, nil
		}
		b.WriteString("(")
		s.writeColumns(&b, p, cols)
		b.WriteString(") IN (")
	} else {
		b.Grow(64 + len(p.name) + len(cols)*40 + len(rows)*(len(tuple)+1))
		b.WriteString("INSERT INTO ")
		b.WriteString(p.name)
		b.WriteString(" (")
		s.writeColumns(&b, p, cols)
		b.WriteString(") VALUES ")
	}
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
	}
	if p.run.Delete {
		b.WriteString(")")
		return b.String(), args, nil
	}
	// Key columns are assigned too. When the new row collides with another
	// row on a unique secondary index, that row then becomes this one
	// (its key changes to ours) instead of silently taking our values
	// under its own key; the other row's own later change, still in its
	// partition, upserts it back. A collision on both the key and another
	// unique index fails with 1062 (a RowError).
	b.WriteString(" ON DUPLICATE KEY UPDATE ")
	for i, j := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		q := quoteIdent(p.cols[j].name)
		b.WriteString(q)
		b.WriteString("=VALUES(")
		b.WriteString(q)
		b.WriteString(")")
	}
	return b.String(), args, nil
}

func (s *Sink) writeColumns(b *strings.Builder, p *plan, cols []int) {
	for i, j := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteIdent(p.cols[j].name))
	}
}

// exec runs the statement for rows and turns a refusal into a RowError
// about the refused row.
func (s *Sink) exec(ctx context.Context, tx *sql.Tx, p *plan, rows []*sink.Row, cols []int) error {
	q, args, err := s.build(p, rows, cols)
	if err != nil {
		return err
	}
	if _, err = tx.ExecContext(ctx, q, args...); err == nil {
		return nil
	}
	verb := "upserting"
	if p.run.Delete {
		verb = "deleting"
	}
	what := fmt.Sprintf("%s %d rows of %s", verb, len(rows), p.name)
	if ctx.Err() != nil || classOf(err) != classData {
		return failed(ctx, what, err)
	}
	if c := errCode(err); c == 1054 || c == 1146 {
		s.cat.forget(p.schema, p.run.Table)
	}
	bad := rows[0]
	if n := errRow(err); n >= 1 && n <= len(rows) {
		bad = rows[n-1]
	} else if len(rows) > 1 {
		if r, rerr := s.bisect(ctx, tx, p, rows, cols); r != nil {
			bad, err = r, rerr
		}
	}
	re := &sink.RowError{Row: bad, Column: errColumn(err), Err: fmt.Errorf("%s: %w", verb, err)}
	if re.Column != "" {
		for j := range p.run.Columns {
			if strings.EqualFold(p.run.Columns[j].Name, re.Column) || (p.cols[j] != nil && strings.EqualFold(p.cols[j].name, re.Column)) {
				re.Column = p.run.Columns[j].Name
				re.Value = valueText(value(bad, j))
				break
			}
		}
	}
	return re
}

// bisect finds the row the server refuses when its message does not say
// (duplicate key, foreign key): it writes the first half of rows, then
// whichever half holds the culprit. A refused statement changes nothing
// (InnoDB rolls the statement back) and an accepted half leaves exactly
// the state the second half expects, so log2(n) statements find it. The
// transaction is rolled back afterwards anyway. It returns nil when the
// search is inconclusive.
func (s *Sink) bisect(ctx context.Context, tx *sql.Tx, p *plan, rows []*sink.Row, cols []int) (*sink.Row, error) {
	for {
		n := len(rows)
		if n > 1 {
			n /= 2
		}
		q, args, err := s.build(p, rows[:n], cols)
		if err != nil {
			return nil, nil
		}
		_, err = tx.ExecContext(ctx, q, args...)
		switch {
		case err != nil && classOf(err) != classData:
			return nil, nil
		case len(rows) == 1:
			if err == nil {
				return nil, nil
			}
			return rows[0], err
		case err != nil:
			rows = rows[:n]
		default:
			rows = rows[n:]
		}
	}
}

func zapTable(schema, table string) zap.Field { return zap.String("table", schema+"."+table) }
