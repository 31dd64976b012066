package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The COPY method: each upsert part is copied into a temporary table
// shaped like the target, then merged with INSERT ... SELECT ... ON
// CONFLICT. Deletes stay multi-row statements. It exists to be measured
// against the statement methods (BenchmarkUpsert).

// tmpCreated is the key in a connection's CustomData of the set of
// temporary tables that exist on it.
const tmpCreated = "sluice.postgres.tmp"

func created(pc *pgconn.PgConn) map[string]bool {
	m, _ := pc.CustomData()[tmpCreated].(map[string]bool)
	if m == nil {
		m = map[string]bool{}
		pc.CustomData()[tmpCreated] = m
	}
	return m
}

func tmpIdent(t *table) string { return pgx.Identifier{"pg_temp", t.tmp}.Sanitize() }

// createTemps queues the creation of the temporary tables the parts need
// on this connection. ON COMMIT DELETE ROWS empties them at every commit.
func (s *Sink) createTemps(b *pgconn.Batch, pc *pgconn.PgConn, parts []*part) {
	have := created(pc)
	queued := map[string]bool{}
	for _, p := range parts {
		if p.del || have[p.t.tmp] || queued[p.t.tmp] {
			continue
		}
		queued[p.t.tmp] = true
		names := make([]string, 0, len(p.t.cols))
		for n := range p.t.cols {
			names = append(names, n)
		}
		slices.Sort(names)
		var q strings.Builder
		q.WriteString("CREATE TEMP TABLE IF NOT EXISTS " + tmpIdent(p.t) + " (")
		for i, n := range names {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(pgIdent(n) + " " + p.t.cols[n].typ)
		}
		q.WriteString(") ON COMMIT DELETE ROWS")
		b.ExecParams(q.String(), nil, nil, nil, nil)
	}
}

func (s *Sink) writeCopy(ctx context.Context, pc *pgconn.PgConn, parts []*part) error {
	var (
		b       = &pgconn.Batch{}
		pending []int // the part of each queued statement, -1 for others
	)
	flush := func() error {
		n, err := runBatch(ctx, pc, b)
		if err != nil {
			i := -1
			if n < len(pending) {
				i = pending[n]
			}
			return &stmtError{part: i, err: err}
		}
		b, pending = &pgconn.Batch{}, nil
		return nil
	}
	var data []byte
	for i, p := range parts {
		if p.del {
			p.queue(b)
			pending = append(pending, i)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		data = p.copyData(data[:0])
		var q strings.Builder
		q.WriteString("COPY " + tmpIdent(p.t))
		p.columnList(&q)
		q.WriteString(" FROM STDIN")
		if _, err := pc.CopyFrom(ctx, bytes.NewReader(data), q.String()); err != nil {
			return &stmtError{part: i, err: err}
		}
		q.Reset()
		q.WriteString("INSERT INTO " + p.t.ident)
		p.columnList(&q)
		q.WriteString(" SELECT ")
		for j, c := range p.cols {
			if j > 0 {
				q.WriteByte(',')
			}
			q.WriteString(pgIdent(c.name))
		}
		q.WriteString(" FROM " + tmpIdent(p.t))
		p.onConflict(&q)
		b.ExecParams(q.String(), nil, nil, nil, nil)
		pending = append(pending, i)
		if slices.ContainsFunc(parts[i+1:], func(o *part) bool { return !o.del && o.t.tmp == p.t.tmp }) {
			b.ExecParams("DELETE FROM "+tmpIdent(p.t), nil, nil, nil, nil)
			pending = append(pending, -1)
		}
	}
	b.ExecParams("COMMIT", nil, nil, nil, nil)
	pending = append(pending, -1)
	if err := flush(); err != nil {
		return err
	}
	have := created(pc)
	for _, p := range parts {
		if !p.del {
			have[p.t.tmp] = true
		}
	}
	return nil
}

// copyData is p in COPY's text format: tab-separated, \N for NULL,
// backslash escapes, bytea as \\x hex.
func (p *part) copyData(dst []byte) []byte {
	n := len(p.cols)
	for r := range p.rows {
		for c := range n {
			if c > 0 {
				dst = append(dst, '\t')
			}
			v := p.vals[r*n+c]
			switch {
			case v == nil:
				dst = append(dst, `\N`...)
			case p.formats[c] == 1:
				dst = append(dst, `\\x`...)
				dst = hex.AppendEncode(dst, v)
			default:
				for _, ch := range v {
					switch ch {
					case '\\':
						dst = append(dst, `\\`...)
					case '\t':
						dst = append(dst, `\t`...)
					case '\n':
						dst = append(dst, `\n`...)
					case '\r':
						dst = append(dst, `\r`...)
					default:
						dst = append(dst, ch)
					}
				}
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}
