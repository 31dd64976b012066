package binlog

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// heapBound is what the reader may use while streaming a transaction of
// any size: the bounded go-mysql read-ahead, the held-back rows (at most
// HoldRows, 10000 here, of ~0.5 KB) and the items in the channel, plus the
// test's own baseline.
const heapBound = 32 << 20

// TestLargeTransactionStreams: a 200,000-row transaction streams through a
// slow consumer with flat memory (G7); only its last row is marked Last.
func TestLargeTransactionStreams(t *testing.T) {
	const n = 200000
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db, "CREATE TABLE big (id INT UNSIGNED PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(255) NOT NULL)")
	from := gtidNow(t, m)
	start := time.Now()
	// One statement in autocommit: one transaction (the Sequence engine
	// generates the rows).
	mustExec(t, db, "INSERT INTO big SELECT seq, seq * 7, CONCAT('row number ', seq, ' ', REPEAT('x', 150)) FROM seq_1_to_200000")
	t.Logf("inserted %d rows in one transaction in %s", n, time.Since(start).Round(time.Millisecond))

	h := startReader(t, testConfig(t, m, dbName), from, 16)
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	rows, withXID := 0, 0
	start = time.Now()
	for {
		it := h.nextData(t)
		if it.Kind == source.Commit {
			break
		}
		ev := it.Event
		rows++
		if ev.Tx.XID != 0 {
			withXID++
		}
		if ev.Tx.Seq != uint64(rows-1) || ev.Tx.TableSeq != uint64(rows) || ev.Tx.Last != (rows == n) {
			t.Fatalf("row %d: tx %+v, want seq %d, table seq %d, last %v", rows, ev.Tx, rows-1, rows, rows == n)
		}
		if !ev.After[0].Equal(event.UintValue(uint64(rows))) || !ev.After[1].Equal(event.IntValue(int64(rows)*7)) {
			t.Fatalf("row %d: values %+v", rows, ev.After[:2])
		}
		if rows%10000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			// A slow consumer: a reader that read ahead without limit
			// would pile the transaction up in memory meanwhile.
			time.Sleep(25 * time.Millisecond)
		}
	}
	if rows != n {
		t.Fatalf("%d rows before the commit, want %d", rows, n)
	}
	// Only the rows still held at the XID carry it.
	if withXID == 0 || withXID > defaultHoldRows {
		t.Errorf("%d rows carry the XID, want 1..%d (the rows held at commit)", withXID, defaultHoldRows)
	}
	t.Logf("streamed %d rows in %s; peak HeapInuse %.1f MB", rows, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
	if peak > heapBound {
		t.Errorf("peak HeapInuse %.1f MB while streaming, want under %d MB: the reader buffers the transaction", float64(peak)/(1<<20), heapBound>>20)
	}
}

// TestXIDOnHeldRows: every row of a transaction within the hold limits
// carries its XID; with a hold of 2 rows, a 5-row transaction streams and
// only the rows held at commit carry it (the last one always).
func TestXIDOnHeldRows(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	for _, tc := range []struct {
		hold      int
		wantXIDs  int
		wantFirst bool // the first row carries the XID
	}{{0, 5, true}, {2, 1, false}} {
		from := gtidNow(t, m)
		mustExec(t, db, fmt.Sprintf("INSERT INTO t SELECT seq + %d FROM seq_1_to_5", tc.hold*10))
		cfg := testConfig(t, m, dbName)
		cfg.HoldRows = tc.hold
		h := startReader(t, cfg, from, 16)
		var xids []uint64
		for {
			it := h.nextData(t)
			if it.Kind == source.Commit {
				break
			}
			xids = append(xids, it.Event.Tx.XID)
		}
		n := 0
		for _, x := range xids {
			if x != 0 {
				n++
				if x != xids[len(xids)-1] {
					t.Errorf("hold %d: xids %v: two XIDs in one transaction", tc.hold, xids)
				}
			}
		}
		if len(xids) != 5 || xids[4] == 0 || n != tc.wantXIDs || (xids[0] != 0) != tc.wantFirst {
			t.Errorf("hold %d: row xids %v, want 5 rows, %d with the XID", tc.hold, xids, tc.wantXIDs)
		}
		h.cancel()
		_ = h.wait(t)
	}
}
