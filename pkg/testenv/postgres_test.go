package testenv

import (
	"context"
	"testing"
)

const bigDecimal = "-99999999999999999999999999999999999.999999999999999999999999999999"

func TestPostgres(t *testing.T) {
	p := SharedPostgres(t)
	ctx := context.Background()
	name := p.CreateDatabase(t)
	c, err := p.Connect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE t (id bigint PRIMARY KEY, v text, d numeric(65,30))"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO t VALUES ($1, $2, $3)", 1, "ünï 😀", bigDecimal); err != nil {
		t.Fatal(err)
	}
	// The same row through database/sql (pgx stdlib), as a sink may use it.
	db, err := p.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v, d, enc string
	if err := db.QueryRowContext(ctx, "SELECT v, d::text, pg_encoding_to_char(encoding) FROM t, pg_database WHERE id = 1 AND datname = current_database()").Scan(&v, &d, &enc); err != nil {
		t.Fatal(err)
	}
	if v != "ünï 😀" || d != bigDecimal || enc != "UTF8" {
		t.Errorf("round trip = %q, %q in a %s database; want %q, %q in UTF8", v, d, enc, "ünï 😀", bigDecimal)
	}
}
