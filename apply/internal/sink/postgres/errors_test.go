package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// Every value the target cannot hold exactly fails its row, naming
// table, column, value and offset (G6), whether the sink or PostgreSQL
// notices; the batch writes nothing, not even the rows before it.
func TestRowErrors(t *testing.T) {
	cases := []struct {
		name, pgType, srcType string
		v                     event.Value
		value, msg            string // value is "" when PostgreSQL does not say
	}{
		{"smallint range", "smallint", "int(11)", i64(40000), "40000", "out of range for smallint"},
		{"uint64 into bigint", "bigint", "bigint(20) unsigned", u64(math.MaxUint64), "18446744073709551615", "out of range for bigint"},
		{"TIME over a day", "time", "time", event.TimeValue("100:00:00"), "100:00:00", "outside a day"},
		{"negative TIME", "time(6)", "time(6)", event.TimeValue("-00:00:01.5"), "-00:00:01.5", "outside a day"},
		{"decimal scale would round", "numeric(5,2)", "decimal(6,3)", event.DecimalValue("1.234"), "1.234", "would round"},
		{"decimal overflow", "numeric(5,2)", "decimal(6,1)", event.DecimalValue("-1234.5"), "-1234.5", "integer digits"},
		{"double into real", "real", "double", event.FloatValue(0.1), "0.1", "not exactly representable"},
		{"varchar too long", "varchar(3)", "varchar(10)", str("abcd"), "abcd", "holds 3"},
		{"char too long", "char(2)", "char(3)", str("abc"), "abc", "holds 2"},
		{"microseconds into timestamp(0)", "timestamp(0)", "datetime(6)", event.DateTimeValue("2020-01-01 00:00:00.5"), "2020-01-01 00:00:00.5", "would round"},
		{"time of day into date", "date", "datetime", event.DateTimeValue("2020-01-01 10:00:00"), "2020-01-01 10:00:00", "time of day"},
		{"bit too narrow", "bit(4)", "bit(8)", event.BitValue(255), "255", "needs 8 bits"},
		{"2 into boolean", "boolean", "tinyint(1)", i64(2), "2", "only 0 and 1"},
		{"NUL in text", "text", "varchar(10)", str("a\x00b"), "a\x00b", "NUL"},
		{"binary into text", "text", "varbinary(4)", event.BytesValue([]byte{0xff, 0}), "0xff00", "not valid UTF-8"},
		{"float into integer", "integer", "double", event.FloatValue(1), "1", "cannot go into"},
		{"decimal fraction into integer", "bigint", "decimal(5,1)", event.DecimalValue("1.5"), "1.5", "fraction"},
		{"set into integer", "integer", "set('a')", event.SetValue([]string{"a"}), "a", "cannot go into"},
		{"bad enum label", "size", "enum('x')", event.EnumValue("huge"), "huge", "22P02"},
		{"bad json", "jsonb", "varchar(5)", str("{"), "{", "22P02"},
		{"NULL into NOT NULL", "integer NOT NULL", "int(11)", null, "", "23502"},
	}
	eachMethod(t, nil, func(t *testing.T, f *fixture) {
		f.exec("CREATE TYPE size AS ENUM ('small', 'large')")
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				name := fmt.Sprintf("t%d", i)
				f.exec(fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY, v %s)", name, c.pgType))
				tb := newTable(name, "id", "int(11)", "v", c.srcType)
				good := func(off int64) sink.Row {
					// NULL, or a value of the same kind the column holds.
					v := null
					if strings.Contains(c.pgType, "NOT NULL") {
						v = i64(1)
					}
					return tb.row(event.OpInsert, off, i64(off), v)
				}
				err := f.apply(good(0), good(1), tb.row(event.OpInsert, 2, i64(2), c.v), good(3))
				re := rowError(t, err)
				if re.Row.Offset != 2 || re.Row.Table != name {
					t.Errorf("error names %s@%d, want %s@2: %v", re.Row.Table, re.Row.Offset, name, err)
				}
				if c.value != "" && (re.Column != "v" || re.Value != c.value) {
					t.Errorf("error names column %q value %q, want v %q: %v", re.Column, re.Value, c.value, err)
				}
				if !strings.Contains(err.Error(), c.msg) {
					t.Errorf("error %q does not say %q", err, c.msg)
				}
				f.want("SELECT count(*) FROM "+name, "0")
				if got, _ := f.s.Offsets(f.ctx, "g", "src."+name); len(got) != 0 {
					t.Errorf("offset stored despite the failure: %v", got)
				}
			})
		}
	})
}

func TestSchemaErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.exec("CREATE TABLE items (id integer PRIMARY KEY, n integer)", "CREATE TABLE nokey (id integer, n integer)",
		"CREATE TABLE gen (id integer PRIMARY KEY, n integer, d integer GENERATED ALWAYS AS (n * 2) STORED)")
	for _, c := range []struct {
		name, table, column, msg string
		cols                     []string
	}{
		{"unknown column", "items", "nope", `no column "nope"`, []string{"id", "int(11)", "nope", "int(11)"}},
		{"missing table", "missing", "", "does not exist", []string{"id", "int(11)", "n", "int(11)"}},
		{"no unique key", "nokey", "", "no primary key or unique index on (id)", []string{"id", "int(11)", "n", "int(11)"}},
		{"generated column", "gen", "d", "generated", []string{"id", "int(11)", "d", "int(11)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := newTable(c.table, c.cols...)
			err := f.apply(tb.row(event.OpInsert, 7, i64(1), i64(1)))
			re := rowError(t, err)
			if re.Row.Offset != 7 || re.Column != c.column || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error names offset %d column %q, want 7 %q and %q: %v", re.Row.Offset, re.Column, c.column, c.msg, err)
			}
		})
	}
	// A table dropped and recreated without a column after it was cached:
	// PostgreSQL's refusal (42703) is a row error and the cache is dropped.
	tb := newTable("items", "id", "int(11)", "n", "int(11)")
	f.mustApply(tb.row(event.OpInsert, 0, i64(1), i64(1)))
	f.exec("DROP TABLE items", "CREATE TABLE items (id integer PRIMARY KEY)")
	re := rowError(t, f.apply(tb.row(event.OpInsert, 1, i64(2), i64(2))))
	if !strings.Contains(re.Error(), "42703") {
		t.Errorf("want undefined_column, got %v", re)
	}
	f.exec("ALTER TABLE items ADD COLUMN n integer")
	f.mustApply(tb.row(event.OpInsert, 1, i64(2), i64(2)))
}

func TestClassify(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("writing: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		err       error
		retryable bool
	}{
		{pg("40001"), true}, // serialization_failure
		{pg("40P01"), true}, // deadlock_detected
		{pg("57P01"), true}, // admin_shutdown
		{pg("57P03"), true}, // cannot_connect_now
		{pg("25006"), true}, // read_only_sql_transaction: failover
		{pg("08006"), true}, // connection_failure
		{pg("55P03"), true}, // lock_not_available
		{pg("53300"), true}, // too_many_connections
		{pg("22003"), false},
		{pg("23505"), false},
		{pg("42703"), false},
		{pg("42501"), false}, // insufficient_privilege: fatal, fix the grants
		{io.EOF, true},
		{fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{errors.New("something else"), false},
	} {
		if got := sink.Retryable(classify(c.err)); got != c.retryable {
			t.Errorf("%v: retryable %v, want %v", c.err, got, c.retryable)
		}
	}
}

// Real connection failures: a server that is not there, and a backend
// killed under the pool (what a failover or restart does).
func TestConnectionLossIsRetryable(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(t.Context(), Config{DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", port)})
	if !sink.Retryable(err) {
		t.Errorf("connection refused: want retryable, got %v", err)
	}

	f := newFixture(t, nil)
	f.exec("CREATE TABLE items (id integer PRIMARY KEY, n integer)")
	tb := newTable("items", "id", "int(11)", "n", "int(11)")
	f.mustApply(tb.row(event.OpInsert, 0, i64(1), i64(1)))
	f.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	err = f.apply(tb.row(event.OpInsert, 1, i64(2), i64(2)))
	if err == nil || !sink.Retryable(err) {
		t.Fatalf("terminated backend: want a retryable error, got %v", err)
	}
	f.mustApply(tb.row(event.OpInsert, 1, i64(2), i64(2))) // the retry
	f.want("SELECT id, n FROM items ORDER BY id", "1|1", "2|2")
}
