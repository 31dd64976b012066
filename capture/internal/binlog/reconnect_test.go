package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// killDumps kills the server's binlog dump threads (the readers'
// replication connections) and returns their ids. It waits for one to
// exist first.
func killDumps(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for deadline := time.Now().Add(10 * time.Second); len(ids) == 0; {
		rows, err := db.QueryContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if time.Now().After(deadline) {
			t.Fatal("no binlog dump thread on the server")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range ids {
		if _, err := db.ExecContext(ctx, "KILL "+strconv.FormatInt(id, 10)); err != nil && !strings.Contains(err.Error(), "Unknown thread") {
			t.Fatalf("KILL %d: %v", id, err)
		}
	}
	return ids
}

// gtidSeq is the sequence number of a single-domain MariaDB GTID.
func gtidSeq(t *testing.T, gtid string) int {
	t.Helper()
	i := strings.LastIndexByte(gtid, '-')
	n, err := strconv.Atoi(gtid[i+1:])
	if err != nil || strings.Contains(gtid, ",") {
		t.Fatalf("GTID %q: want one domain-server-seq", gtid)
	}
	return n
}

// TestReconnect: a connection killed between transactions is resumed
// without a duplicate or a gap; one killed inside a transaction whose rows
// were partly sent ends Run with the retryable ErrTxnInterrupted, and a new
// Run from the last commit reads that transaction whole.
func TestReconnect(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db, "CREATE TABLE r (id INT PRIMARY KEY, s VARCHAR(255) NOT NULL)")
	from := gtidNow(t, m)
	cfg := testConfig(t, m, dbName)
	cfg.ChannelCap = 4
	h := startReader(t, cfg, from, 1)

	var commits []string // GTIDs of the commits seen
	var ids []int64      // row ids seen
	read := func(wantRows int) string {
		t.Helper()
		pos := ""
		for n := 0; n < wantRows; {
			switch it := h.nextData(t); it.Kind {
			case source.Row:
				ids = append(ids, it.Event.After[0].I)
			case source.Commit:
				commits = append(commits, it.TxID)
				pos = it.Position
				n++
			}
		}
		return pos
	}
	mustExec(t, db, "INSERT INTO r VALUES (1, 'one')")
	read(1)
	killed := killDumps(t, db)
	mustExec(t, db, "INSERT INTO r VALUES (2, 'two')", "INSERT INTO r VALUES (3, 'three')")
	lastPos := read(2)
	if fmt.Sprint(ids) != "[1 2 3]" {
		t.Errorf("rows across the reconnect: %v, want [1 2 3] (no duplicate, no gap)", ids)
	}
	for i := 1; i < len(commits); i++ {
		if gtidSeq(t, commits[i]) != gtidSeq(t, commits[i-1])+1 {
			t.Errorf("commits %v: not consecutive GTIDs", commits)
		}
	}
	if again := killDumps(t, db); again[0] == killed[0] {
		t.Errorf("dump thread %d still there after KILL", killed[0])
	}

	// Inside a transaction: large enough that the kill lands mid-way even
	// after what the sockets and go-mysql's small read-ahead still hold.
	const n = 100000
	mustExec(t, db, fmt.Sprintf("INSERT INTO r SELECT seq + 10, REPEAT('x', 200) FROM seq_1_to_%d", n))
	sent := 0
	for sent < 100 {
		if it := h.nextData(t); it.Kind == source.Row {
			sent++
		}
	}
	killDumps(t, db)
	err := h.wait(t) // drains the rest of what was sent
	if !errors.Is(err, ErrTxnInterrupted) || !retryable(err) {
		t.Fatalf("connection killed inside a transaction: Run = %v, want a retryable ErrTxnInterrupted", err)
	}
	t.Logf("interrupted as expected: %v", err)

	// The pipeline restarts from the last committed position.
	h = startReader(t, testConfig(t, m, dbName), lastPos, 16)
	rows := 0
	for {
		it := h.nextData(t)
		if it.Kind == source.Commit {
			break
		}
		rows++
		if it.Event.Tx.Seq != uint64(rows-1) || it.Event.Tx.Last != (rows == n) || !it.Event.After[0].Equal(event.IntValue(int64(rows+10))) {
			t.Fatalf("row %d after the restart: tx %+v id %+v", rows, it.Event.Tx, it.Event.After[0])
		}
	}
	if rows != n {
		t.Fatalf("%d rows after the restart, want the whole transaction (%d)", rows, n)
	}
}
