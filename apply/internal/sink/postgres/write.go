package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// stmtError is a failed statement of a batch; part indexes the batch's
// parts, -1 when the statement was not one of them (COMMIT).
type stmtError struct {
	part int
	err  error
}

func (e *stmtError) Error() string { return e.err.Error() }
func (e *stmtError) Unwrap() error { return e.err }

// runBatch sends b and reads its results; n is the number of statements
// that succeeded, so on error the n-th (0-based) is the one that failed:
// the server skips everything after a failure up to the batch's Sync.
func runBatch(ctx context.Context, pc *pgconn.PgConn, b *pgconn.Batch) (n int, err error) {
	mrr := pc.ExecBatch(ctx, b)
	for mrr.NextResult() {
		if _, err := mrr.ResultReader().Close(); err != nil {
			_ = mrr.Close()
			return n, err
		}
		n++
	}
	return n, mrr.Close()
}

// writeStatements sends every part as one statement, and COMMIT, in one
// round trip.
func (s *Sink) writeStatements(ctx context.Context, pc *pgconn.PgConn, parts []*part) error {
	b := &pgconn.Batch{}
	for _, p := range parts {
		if s.method == methodArrays && p.arrayable() {
			p.queueArrays(b)
		} else {
			p.queue(b)
		}
	}
	b.ExecParams("COMMIT", nil, nil, nil, nil)
	n, err := runBatch(ctx, pc, b)
	if err != nil {
		if n >= len(parts) {
			n = -1
		}
		return &stmtError{part: n, err: err}
	}
	return nil
}

// queue adds p as one multi-row INSERT ... VALUES ... ON CONFLICT or
// DELETE ... IN (...): the method for columns without an array type, and
// for finding a failed row one row at a time.
func (p *part) queue(b *pgconn.Batch) {
	var formats []int16
	if slices.Contains(p.formats, 1) {
		formats = make([]int16, 0, len(p.vals))
		for range p.rows {
			formats = append(formats, p.formats...)
		}
	}
	if p.del {
		b.ExecParams(p.deleteSQL(), p.vals, nil, formats, nil)
	} else {
		b.ExecParams(p.insertSQL(), p.vals, nil, formats, nil)
	}
}

// insertSQL is INSERT INTO t (c...) VALUES ($1, ...), ... ON CONFLICT.
// The parameters are untyped: PostgreSQL gives each the type of its
// column and parses the text with that type's input function.
func (p *part) insertSQL() string {
	var b strings.Builder
	b.Grow(64 + 16*len(p.cols) + 8*len(p.vals))
	b.WriteString("INSERT INTO ")
	b.WriteString(p.t.ident)
	p.columnList(&b)
	b.WriteString(" VALUES ")
	p.placeholders(&b)
	p.onConflict(&b)
	return b.String()
}

func (p *part) columnList(b *strings.Builder) {
	b.WriteString(" (")
	for i, c := range p.cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pgIdent(c.name))
	}
	b.WriteByte(')')
}

// onConflict makes an insert an upsert: a row that exists takes the new
// values (G4: insert of an existing row updates it).
func (p *part) onConflict(b *strings.Builder) {
	b.WriteString(" ON CONFLICT (")
	for i, k := range p.key {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pgIdent(p.cols[k].name))
	}
	b.WriteString(") DO ")
	if len(p.key) == len(p.cols) {
		b.WriteString("NOTHING")
		return
	}
	b.WriteString("UPDATE SET ")
	first := true
	for i, c := range p.cols {
		if slices.Contains(p.key, i) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		id := pgIdent(c.name)
		b.WriteString(id)
		b.WriteString("=EXCLUDED.")
		b.WriteString(id)
	}
}

// deleteSQL is DELETE FROM t WHERE (k...) IN (($1, ...), ...); deleting a
// missing row deletes nothing, which is success (G4).
func (p *part) deleteSQL() string {
	var b strings.Builder
	b.Grow(64 + 8*len(p.vals))
	b.WriteString("DELETE FROM ")
	b.WriteString(p.t.ident)
	b.WriteString(" WHERE (")
	for i, c := range p.cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pgIdent(c.name))
	}
	b.WriteString(") IN (")
	p.placeholders(&b)
	b.WriteByte(')')
	return b.String()
}

// placeholders writes ($1,$2,...),(...) for the part's rows and columns.
func (p *part) placeholders(b *strings.Builder) {
	n := 1
	for r := range p.rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range p.cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
}

func pgIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// locate finds the row a multi-row statement failed on: it replays the
// batch up to that statement, then the statement's rows one by one, all
// in a transaction it rolls back. PostgreSQL does not say which row of a
// statement broke, and naming the wrong one would make the dead-letter
// policy drop a good row. It returns the index of the row, or -1.
func (s *Sink) locate(ctx context.Context, pc *pgconn.PgConn, parts []*part, failed int) int {
	b := &pgconn.Batch{}
	b.ExecParams("BEGIN", nil, nil, nil, nil)
	for _, p := range parts[:failed] {
		p.queue(b)
	}
	f := parts[failed]
	for i := range f.rows {
		f.row(i).queue(b)
	}
	n, err := runBatch(ctx, pc, b)
	rollback(ctx, pc)
	if i := n - 1 - failed; err != nil && i >= 0 && i < len(f.rows) {
		return i
	}
	return -1
}

// locateColumn finds which value of a one-row part PostgreSQL's input
// functions refuse, by casting each to its column's type on its own (the
// length and precision checks an explicit cast would skip are the sink's
// own, done before writing). It returns the index in p.cols, or -1.
func locateColumn(ctx context.Context, pc *pgconn.PgConn, p *part) int {
	b := &pgconn.Batch{}
	var which []int
	for j, c := range p.cols {
		if p.vals[j] == nil {
			continue
		}
		b.ExecParams("SELECT $1::"+c.typ, p.vals[j:j+1], nil, p.formats[j:j+1], nil)
		which = append(which, j)
	}
	n, err := runBatch(ctx, pc, b)
	if err == nil || n >= len(which) {
		return -1
	}
	return which[n]
}

// failure turns a failed write into the error Apply returns.
func (s *Sink) failure(ctx context.Context, pc *pgconn.PgConn, parts []*part, err error) error {
	var se *stmtError
	if !errors.As(err, &se) || se.part < 0 {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && rowCode(pe.Code) && len(parts) > 0 {
			// A deferred constraint fails at COMMIT, for no one statement.
			return &sink.RowError{Row: parts[0].rows[0], Err: fmt.Errorf("committing the batch: %w", withDetail(err, pe))}
		}
		return classify(fmt.Errorf("committing the batch: %w", err))
	}
	p := parts[se.part]
	var pe *pgconn.PgError
	if !errors.As(se.err, &pe) || !rowCode(pe.Code) {
		return classify(fmt.Errorf("writing to %s: %w", p.t.ident, se.err))
	}
	re := &sink.RowError{Row: p.rows[0], Column: pe.ColumnName, Err: fmt.Errorf("writing to %s: %w", p.t.ident, withDetail(se.err, pe))}
	if !locatable(pe.Code) {
		s.forget(p.t.schema, p.t.name) // the table changed under the cache
		return re
	}
	i := 0
	if len(p.rows) > 1 && !pc.IsClosed() {
		if i = s.locate(ctx, pc, parts, se.part); i < 0 {
			return re
		}
		re.Row = p.rows[i]
	}
	if strings.HasPrefix(pe.Code, "22") && re.Column == "" && !pc.IsClosed() {
		if j := locateColumn(ctx, pc, p.row(i)); j >= 0 {
			re.Column, re.Value = p.cols[j].name, valueText(&re.Row.Values[p.src[j]])
		}
	}
	return re
}
