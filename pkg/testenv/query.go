package testenv

import (
	"database/sql"
	"testing"
)

// QueryRows runs q on db and returns every row's columns as text (Valid
// false for NULL), failing tb on any error. It serves tests comparing
// tables of MariaDB and PostgreSQL alike.
func QueryRows(tb testing.TB, db *sql.DB, q string) [][]sql.NullString {
	tb.Helper()
	rows, err := db.Query(q)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	var out [][]sql.NullString
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return out
}
