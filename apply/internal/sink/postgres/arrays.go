package postgres

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// The array method, the default: a part is one statement with one array
// parameter per column, INSERT ... SELECT * FROM unnest($1, ..., $n) ON
// CONFLICT. The statement text does not grow with the rows, so
// PostgreSQL parses and plans a few hundred bytes instead of thousands of
// placeholders; BenchmarkUpsert measures it against multi-row VALUES and
// COPY. The parameters are typed as arrays of the columns' own types (by
// OID, so no type name with its typmod traps is spelled out), the
// elements are parsed by the same input functions as with VALUES, and
// the insert applies the same assignment checks.

// arrayable reports whether every column of p has an array type.
func (p *part) arrayable() bool {
	for _, c := range p.cols {
		if c.arrayOID == 0 {
			return false
		}
	}
	return true
}

// queueArrays adds p as one statement with a parameter per column.
func (p *part) queueArrays(b *pgconn.Batch) {
	n := len(p.cols)
	params, oids, formats := make([][]byte, n), make([]uint32, n), make([]int16, n)
	for j, c := range p.cols {
		oids[j] = c.arrayOID
		if p.formats[j] == 1 {
			params[j], formats[j] = p.binaryArray(j), 1
		} else {
			params[j] = p.textArray(j)
		}
	}
	var q strings.Builder
	switch {
	case !p.del:
		q.WriteString("INSERT INTO " + p.t.ident)
		p.columnList(&q)
		q.WriteString(" SELECT * FROM ")
		unnest(&q, n)
		p.onConflict(&q)
	case n == 1:
		q.WriteString("DELETE FROM " + p.t.ident + " WHERE " + pgIdent(p.cols[0].name) + " = ANY($1)")
	default:
		q.WriteString("DELETE FROM " + p.t.ident + " WHERE")
		p.columnList(&q)
		q.WriteString(" IN (SELECT * FROM ")
		unnest(&q, n)
		q.WriteByte(')')
	}
	b.ExecParams(q.String(), params, oids, formats, nil)
}

func unnest(q *strings.Builder, n int) {
	q.WriteString("unnest(")
	for i := 1; i <= n; i++ {
		if i > 1 {
			q.WriteByte(',')
		}
		q.WriteByte('$')
		q.WriteString(strconv.Itoa(i))
	}
	q.WriteByte(')')
}

// textArray is column j of p as an array literal: every element quoted
// (so "NULL", braces and spaces stay data), NULL unquoted.
func (p *part) textArray(j int) []byte {
	n := len(p.cols)
	size := 2
	for r := range p.rows {
		size += len(p.vals[r*n+j]) + 3
	}
	out := make([]byte, 0, size+size/8)
	out = append(out, '{')
	for r := range p.rows {
		if r > 0 {
			out = append(out, ',')
		}
		v := p.vals[r*n+j]
		if v == nil {
			out = append(out, "NULL"...)
			continue
		}
		out = append(out, '"')
		for _, ch := range v {
			if ch == '"' || ch == '\\' {
				out = append(out, '\\')
			}
			out = append(out, ch)
		}
		out = append(out, '"')
	}
	return append(out, '}')
}

// binaryArray is bytea column j of p in the binary array format, so the
// bytes travel as they are rather than as hex text.
func (p *part) binaryArray(j int) []byte {
	n := len(p.cols)
	size, hasNull := 20, uint32(0)
	for r := range p.rows {
		size += 4 + len(p.vals[r*n+j])
		if p.vals[r*n+j] == nil {
			hasNull = 1
		}
	}
	out := make([]byte, 0, size)
	out = binary.BigEndian.AppendUint32(out, 1) // dimensions
	out = binary.BigEndian.AppendUint32(out, hasNull)
	out = binary.BigEndian.AppendUint32(out, p.cols[j].oid)
	out = binary.BigEndian.AppendUint32(out, uint32(len(p.rows)))
	out = binary.BigEndian.AppendUint32(out, 1) // lower bound
	for r := range p.rows {
		v := p.vals[r*n+j]
		if v == nil {
			out = binary.BigEndian.AppendUint32(out, 0xffffffff) // -1: NULL
			continue
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	return out
}
