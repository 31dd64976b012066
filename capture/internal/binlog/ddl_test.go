package binlog

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// rowSummary is "col=value,..." of an event's after image.
func rowSummary(ev event.Event) string {
	parts := make([]string, len(ev.Columns))
	for i, c := range ev.Columns {
		v := ev.After[i]
		s := v.S
		switch v.Kind {
		case event.Int:
			s = itoa(v.I)
		case event.JSON:
			s = "json:" + string(v.B)
		case event.Null:
			s = "NULL"
		}
		parts[i] = c.Name + "=" + s
	}
	return strings.Join(parts, ",")
}

func itoa(n int64) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// nextRows reads n rows, skipping commits and heartbeats, and counts the
// commits seen on the way.
func nextRows(t *testing.T, h *harness, n int) (rows []string, commits int) {
	t.Helper()
	for len(rows) < n {
		switch it := h.nextData(t); it.Kind {
		case source.Row:
			rows = append(rows, rowSummary(it.Event))
		case source.Commit:
			commits++
		}
	}
	return rows, commits
}

// TestDDLWhileLagging: rows written around ADD, DROP and RENAME COLUMN
// before the reader starts keep the columns they were written with; a
// reader that is live sees a JSON column added after it cached the table.
func TestDDLWhileLagging(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	from := gtidNow(t, m)
	mustExec(t, db,
		"CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))",
		"INSERT INTO t VALUES (1, 'one')",
		"ALTER TABLE t ADD COLUMN b INT",
		"INSERT INTO t VALUES (2, 'two', 2)",
		"ALTER TABLE t DROP COLUMN a",
		"INSERT INTO t VALUES (3, 3)",
		"ALTER TABLE t RENAME COLUMN b TO c",
		"INSERT INTO t VALUES (4, 4)",
	)
	h := startReader(t, testConfig(t, m, dbName), from, 16)
	rows, commits := nextRows(t, h, 4)
	want := []string{"id=1,a=one", "id=2,a=two,b=2", "id=3,b=3", "id=4,c=4"}
	if strings.Join(rows, " | ") != strings.Join(want, " | ") {
		t.Errorf("rows:\n got  %s\n want %s", strings.Join(rows, " | "), strings.Join(want, " | "))
	}
	// CREATE, 3 inserts and 3 ALTERs commit before the 4th row.
	if commits != 7 {
		t.Errorf("%d commits before the 4th row, want 7 (each DDL is its own transaction)", commits)
	}

	// Live: the table's catalog answer (no JSON column) is cached now; the
	// ALTER must make the reader ask again.
	mustExec(t, db,
		"INSERT INTO t VALUES (5, 5)",
		"ALTER TABLE t ADD COLUMN j JSON",
		`INSERT INTO t VALUES (6, 6, '{"k": [1, "ü"]}')`,
	)
	rows, _ = nextRows(t, h, 2)
	want = []string{"id=5,c=5", `id=6,c=6,j=json:{"k": [1, "ü"]}`}
	if strings.Join(rows, " | ") != strings.Join(want, " | ") {
		t.Errorf("live rows:\n got  %s\n want %s", strings.Join(rows, " | "), strings.Join(want, " | "))
	}
}

// TestNonTransactionalCommit: MariaDB ends a MyISAM change with a COMMIT
// query instead of an XID, also when the change was made inside a
// transaction that then rolled back (MyISAM cannot roll back, so the change
// is logged as a transaction of its own; the InnoDB row is not logged).
func TestNonTransactionalCommit(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db, "CREATE TABLE my (id INT PRIMARY KEY) ENGINE=MyISAM", "CREATE TABLE inno (id INT PRIMARY KEY) ENGINE=InnoDB")
	from := gtidNow(t, m)
	mustExec(t, db, "INSERT INTO my VALUES (1), (2)")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO inno VALUES (10)", "INSERT INTO my VALUES (3)")
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	h := startReader(t, testConfig(t, m, dbName), from, 16)
	var got []string
	for commits := 0; commits < 2; {
		switch it := h.nextData(t); it.Kind {
		case source.Row:
			got = append(got, it.Event.Table+":"+rowSummary(it.Event)+":last="+strconv.FormatBool(it.Event.Tx.Last))
		case source.Commit:
			got = append(got, "commit")
			commits++
		}
	}
	want := "my:id=1:last=false my:id=2:last=true commit my:id=3:last=true commit"
	if strings.Join(got, " ") != want {
		t.Errorf("items:\n got  %s\n want %s", strings.Join(got, " "), want)
	}
}
