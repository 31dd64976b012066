package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The genuine peers' fixtures (testdata/peers, see its README) all tell
// one story on the source table shop.items: a snapshot row 5, inserts of
// 1 and 2, an update of 1, a delete of 2, a primary-key change 1 -> 10,
// an insert of 3 with every nullable column NULL. Every target must end
// holding rows 3, 5 and 10 exactly.

const (
	itemsMaria = "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, price DECIMAL(10,2), qty INT UNSIGNED, " +
		"big BIGINT UNSIGNED, ratio DOUBLE, born DATE, created DATETIME(6), seen TIMESTAMP(6) NULL, dur TIME(6), yr YEAR, flag BIT(1), " +
		"size ENUM('small','medium','large'), tags SET('a','b','c'), doc JSON, `blob` BLOB, note TEXT)"
	itemsPG = `CREATE TABLE items (id integer PRIMARY KEY, name varchar(64) NOT NULL, price numeric(10,2), qty bigint,
		big numeric(20,0), ratio double precision, born date, created timestamp(6), seen timestamptz(6), dur interval, yr smallint,
		flag bit(1), size text, tags text, doc jsonb, "blob" bytea, note text)`

	// Row forms that print the same on both targets; doc (column 14) is
	// compacted in Go.
	itemsMariaQuery = "SELECT id, name, price, qty, big, ratio, born, DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f'), " +
		"DATE_FORMAT(seen, '%Y-%m-%d %H:%i:%s.%f'), dur, yr, flag + 0, size, tags, doc, LOWER(HEX(`blob`)), note FROM items ORDER BY id"
	itemsPGQuery = `SELECT id, name, price, qty, big, ratio, born::text, to_char(created, 'YYYY-MM-DD HH24:MI:SS.US'),
		to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), to_char(dur, 'HH24:MI:SS.US'), yr, flag::integer, size, tags,
		doc::text, encode("blob", 'hex'), note FROM items ORDER BY id`
)

// itemsColumns name the columns of the row forms, for messages.
var itemsColumns = []string{"id", "name", "price", "qty", "big", "ratio", "born", "created", "seen", "dur", "yr", "flag", "size", "tags", "doc", "blob", "note"}

// itemsExpected is the final state of shop.items in the row form.
var itemsExpected = [][]string{
	{"3", "Nulls", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
	{"5", "Snapshot row", "0.10", "7", "42", "2", "2020-02-29", "2020-02-29 00:00:00.000000", "2020-02-29 23:59:59.999999",
		"23:59:59.999999", "2020", "1", "large", "c", `{"k":"v"}`, "09", "from the snapshot"},
	{"10", "Widget moved", "24.50", "4", "18446744073709551615", "0.5", "2024-05-01", "2024-05-01 12:34:56.123456",
		"2024-05-01 12:34:56.500000", "12:34:56.000001", "2024", "1", "medium", "b,c", `{"a":[1,"x"]}`, "000102ff", "updated"},
}

// peerRecord is one line of a fixture: the record as the peer writes it.
type peerRecord struct {
	Key     json.RawMessage   `json:"key"`
	Value   json.RawMessage   `json:"value"`
	Headers map[string]string `json:"headers"`
}

// peerRecords reads testdata/peers/<file> into records for topic, keys and
// values byte for byte as in the file (a null value is a tombstone), with
// no sluice.* header.
func peerRecords(t *testing.T, file, topic string) []*kgo.Record {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "peers", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*kgo.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var pr peerRecord
		if err := json.Unmarshal(sc.Bytes(), &pr); err != nil {
			t.Fatalf("%s:%d: %v", file, line, err)
		}
		r := &kgo.Record{Topic: topic, Key: []byte(pr.Key)}
		if v := bytes.TrimSpace(pr.Value); len(v) > 0 && string(v) != "null" {
			r.Value = []byte(pr.Value)
		}
		for k, v := range pr.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// itemsRows reads the target's items in the row form. MariaDB is read in a
// UTC session (TIMESTAMP is stored in UTC).
func itemsRows(t *testing.T, db *sql.DB, kind string) [][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := itemsPGQuery
	if kind == "mysql" {
		q = itemsMariaQuery
		if _, err := conn.ExecContext(ctx, "SET time_zone = '+00:00'"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(itemsColumns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		var b bytes.Buffer
		if row[14] != "NULL" && json.Compact(&b, []byte(row[14])) == nil {
			row[14] = b.String()
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffItems lists the differences from itemsExpected, column by column.
func diffItems(got [][]string) []string {
	var d []string
	byID := map[string][]string{}
	for _, r := range got {
		byID[r[0]] = r
	}
	for _, w := range itemsExpected {
		g, ok := byID[w[0]]
		if !ok {
			d = append(d, "row id="+w[0]+" missing")
			continue
		}
		delete(byID, w[0])
		for i := range w {
			if g[i] != w[i] {
				d = append(d, "id="+w[0]+" "+itemsColumns[i]+": got "+quote(g[i])+", want "+quote(w[i]))
			}
		}
	}
	for id, r := range byID {
		d = append(d, "unexpected row id="+id+": "+strings.Join(r, "|"))
	}
	return d
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
