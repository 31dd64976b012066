package binlog

import (
	"runtime"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// heapBound is what the reader may use while streaming a transaction of
// any size: the bounded go-mysql read-ahead, one held-back row and the
// items in the channel, plus the test's own baseline.
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
	rows := 0
	start = time.Now()
	for {
		it := h.nextData(t)
		if it.Kind == source.Commit {
			break
		}
		ev := it.Event
		rows++
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
	t.Logf("streamed %d rows in %s; peak HeapInuse %.1f MB", rows, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
	if peak > heapBound {
		t.Errorf("peak HeapInuse %.1f MB while streaming, want under %d MB: the reader buffers the transaction", float64(peak)/(1<<20), heapBound>>20)
	}
}
