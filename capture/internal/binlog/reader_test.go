package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/position"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// harness runs a Reader in the background and collects its items.
type harness struct {
	items  chan source.Item
	cancel context.CancelFunc
	done   chan error
}

func startReader(t *testing.T, m *testenv.MariaDB, cfg Config, from string) *harness {
	t.Helper()
	cfg.Addrs = []string{m.Addr()}
	cfg.User, cfg.Password = m.User(), m.Password()
	if cfg.ServerID == 0 {
		cfg.ServerID = 1000 + uint32(time.Now().UnixNano()%10000)
	}
	cfg.Name, cfg.Version, cfg.Logger = "test", "0.1.0", zaptest.NewLogger(t)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{items: make(chan source.Item, 16), cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- r.Run(ctx, from, h.items) }()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

// next returns the next item, failing after a timeout.
func (h *harness) next(t *testing.T) source.Item {
	t.Helper()
	select {
	case it := <-h.items:
		return it
	case err := <-h.done:
		h.done <- err
		t.Fatalf("reader stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no item within 30s")
	}
	return source.Item{}
}

// nextOf skips heartbeats (and, for other databases' changes, commits of
// transactions without rows).
func (h *harness) nextRowOrCommit(t *testing.T) source.Item {
	for {
		it := h.next(t)
		if it.Kind != source.Heartbeat {
			return it
		}
	}
}

func execTx(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range append([]string{"SET SESSION sql_mode=''", "SET SESSION time_zone='+00:00'", "BEGIN"}, append(stmts, "COMMIT")...) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
}

func currentGTID(t *testing.T, m *testenv.MariaDB) string {
	g, err := m.GTIDPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestAllTypes is the key evidence: every type of the golden list, read
// from a real MariaDB binlog, equals the fixture's events.
func TestAllTypes(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db, err := m.Open(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(eventtest.CreateTableSQL(dbName, eventtest.Table)); err != nil {
		t.Fatal(err)
	}
	from := "gtid:" + currentGTID(t, m)
	f := mustFilter(t, []string{dbName + ".*"})
	h := startReader(t, m, Config{Filter: f}, from)
	for _, tx := range eventtest.Statements(dbName, eventtest.Table) {
		execTx(t, db, tx...)
	}
	want := eventtest.Events()
	var commits []string
	for i := 0; i < len(want); {
		it := h.nextRowOrCommit(t)
		if it.Kind == source.Commit {
			commits = append(commits, it.TxID)
			continue
		}
		got, w := it.Event, want[i]
		i++
		if got.Op != w.Op || got.Database != dbName || got.Table != eventtest.Table {
			t.Fatalf("event %d: %v %s.%s, want %v %s.%s", i, got.Op, got.Database, got.Table, w.Op, dbName, w.Table)
		}
		for c := range w.Columns {
			if got.Columns[c].Name != w.Columns[c].Name || got.Columns[c].Kind != w.Columns[c].Kind {
				t.Errorf("event %d column %d = %+v, want name %s kind %v", i, c, got.Columns[c], w.Columns[c].Name, w.Columns[c].Kind)
			}
		}
		if fmt.Sprint(got.Key) != fmt.Sprint(w.Key) {
			t.Errorf("event %d key = %v, want %v", i, got.Key, w.Key)
		}
		compareRow(t, fmt.Sprintf("event %d before", i), got.Columns, got.Before, w.Before)
		compareRow(t, fmt.Sprintf("event %d after", i), got.Columns, got.After, w.After)
		if got.Tx.Seq != w.Tx.Seq || got.Tx.TableSeq != w.Tx.TableSeq || got.Tx.Last != w.Tx.Last {
			t.Errorf("event %d tx = %+v, want seq %d tableSeq %d last %v", i, got.Tx, w.Tx.Seq, w.Tx.TableSeq, w.Tx.Last)
		}
		if got.Tx.Last && got.Tx.XID == 0 {
			t.Errorf("event %d: last row without XID", i)
		}
		if got.Source.GTID == "" || got.Source.Connector != "mariadb" || got.Source.File == "" {
			t.Errorf("event %d source = %+v", i, got.Source)
		}
	}
	it := h.nextRowOrCommit(t)
	if it.Kind != source.Commit {
		t.Fatalf("after the last row: %v, want a Commit", it.Kind)
	}
	commits = append(commits, it.TxID)
	if len(commits) != 3 {
		t.Fatalf("commits %v, want 3 (one per transaction)", commits)
	}
	p, err := position.ParseMySQL(it.Position)
	if err != nil {
		t.Fatal(err)
	}
	if now := currentGTID(t, m); p.GTIDSet != now {
		t.Errorf("position after the last commit = %s, server at %s", p.GTIDSet, now)
	}
}

func compareRow(t *testing.T, what string, cols []event.Column, got, want []event.Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("%s.%s = %+v, want %+v", what, cols[i].Name, got[i], want[i])
		}
	}
}

// TestDDLWhileLagging writes rows around ADD, DROP and RENAME COLUMN before
// the reader starts: each row must keep the column names it was written with.
func TestDDLWhileLagging(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db, err := m.Open(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	from := "gtid:" + currentGTID(t, m)
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))",
		"INSERT INTO t VALUES (1, 'one')",
		"ALTER TABLE t ADD COLUMN b INT",
		"INSERT INTO t VALUES (2, 'two', 2)",
		"ALTER TABLE t DROP COLUMN a",
		"INSERT INTO t VALUES (3, 3)",
		"ALTER TABLE t RENAME COLUMN b TO c",
		"INSERT INTO t VALUES (4, 4)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	h := startReader(t, m, Config{Filter: mustFilter(t, []string{dbName + ".*"})}, from)
	want := []string{"id,a", "id,a,b", "id,b", "id,c"}
	for i := 0; i < len(want); {
		it := h.nextRowOrCommit(t)
		if it.Kind != source.Row {
			continue
		}
		var names []string
		for _, c := range it.Event.Columns {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, ","); got != want[i] {
			t.Errorf("row %d columns = %s, want %s", i+1, got, want[i])
		}
		i++
	}
}

func TestKeys(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db, err := m.Open(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE uk (a INT NULL, b INT NOT NULL, c INT NOT NULL, UNIQUE KEY nullable (a), UNIQUE KEY good (c, b))",
		"CREATE TABLE nokey (a INT, b INT)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	from := "gtid:" + currentGTID(t, m)
	if _, err := db.Exec("INSERT INTO uk VALUES (1, 2, 3)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO nokey VALUES (1, 2)"); err != nil {
		t.Fatal(err)
	}
	h := startReader(t, m, Config{Filter: mustFilter(t, []string{dbName + ".*"})}, from)
	it := h.nextRowOrCommit(t)
	if it.Kind != source.Row || fmt.Sprint(it.Event.Key) != "[2 1]" {
		t.Errorf("uk keyed by %v, want the unique NOT NULL key (c, b) = [2 1]", it.Event.Key)
	}
	for {
		select {
		case it := <-h.items:
			if it.Kind == source.Row && it.Event.Table == "nokey" {
				t.Fatal("a keyless table was published")
			}
			continue
		case err := <-h.done:
			h.done <- err // for the cleanup, which waits for the reader
			if err == nil || !strings.Contains(err.Error(), "nokey has no primary key") {
				t.Fatalf("reader error = %v, want one naming the keyless table", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("keyless table did not stop the reader")
		}
		break
	}
	h2 := startReader(t, m, Config{Filter: mustFilter(t, []string{dbName + ".nokey"}), KeylessFullRow: true}, from)
	it = h2.nextRowOrCommit(t)
	for it.Kind != source.Row {
		it = h2.nextRowOrCommit(t)
	}
	if fmt.Sprint(it.Event.Key) != "[0 1]" {
		t.Errorf("keyless full-row key = %v", it.Event.Key)
	}
}

func TestPurgedPosition(t *testing.T) {
	m, err := testenv.StartMariaDB(context.Background(), testenv.MariaDBOptions{})
	if err != nil {
		t.Skipf("own MariaDB: %v", err)
	}
	defer m.Remove()
	db, err := m.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE p", "CREATE TABLE p.t (id INT PRIMARY KEY)", "INSERT INTO p.t VALUES (1)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old := currentGTID(t, m)
	file, _, _ := m.BinlogPosition(context.Background())
	for _, q := range []string{"INSERT INTO p.t VALUES (2)", "FLUSH BINARY LOGS", "INSERT INTO p.t VALUES (3)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// MariaDB keeps a binlog until InnoDB has checkpointed past it, so
	// PURGE may skip the file at first: retry until it is really gone.
	deadline := time.Now().Add(30 * time.Second)
	var newest string
	for {
		newest, _, _ = m.BinlogPosition(context.Background())
		if _, err := db.Exec("PURGE BINARY LOGS TO '" + newest + "'"); err != nil {
			t.Fatal(err)
		}
		oldest, err := oldestBinlog(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if oldest != file {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not purged within 30s", file)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("old GTID %s in %s; binlogs now start at %s", old, file, newest)
	for _, from := range []string{"gtid:" + old, "file:" + file + ":4"} {
		r, _ := New(Config{Addrs: []string{m.Addr()}, User: m.User(), Password: m.Password(), ServerID: 77})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := r.Run(ctx, from, make(chan source.Item, 1000))
		cancel()
		if !errors.Is(err, ErrPositionPurged) || !strings.Contains(err.Error(), "re-snapshot") {
			t.Errorf("from %s: err = %v, want ErrPositionPurged naming the recovery", from, err)
		}
	}
}
