package binlog

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/position"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestPurgedPosition: positions in a purged binlog, by GTID or by file,
// are refused with ErrPositionPurged naming the gap and the recovery,
// before and by Run; earliest starts at what is left.
func TestPurgedPosition(t *testing.T) {
	ctx := context.Background()
	m := testenv.NewMariaDB(t, testenv.MariaDBOptions{ServerID: 3})
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	oldGTID, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldFile, oldPos, err := m.BinlogPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing purged yet: earliest is the empty GTID state, which MariaDB
	// streams from the start of its first binlog.
	h := startReader(t, testConfig(t, m, dbName), "earliest", 16)
	if it := h.nextData(t); it.Kind != source.Commit || it.TxID != "0-3-1" {
		t.Fatalf("first item from earliest: %+v, want the commit of the server's first transaction 0-3-1", it)
	}
	it := h.nextData(t)
	for it.Kind == source.Commit {
		it = h.nextData(t)
	}
	if it.Kind != source.Row || !it.Event.After[0].Equal(event.IntValue(1)) {
		t.Fatalf("first row from earliest: %+v, want the row with id 1", it)
	}
	h.cancel()
	mustExec(t, db, "INSERT INTO t VALUES (2)", "FLUSH BINARY LOGS", "INSERT INTO t VALUES (3)")
	newest, _, err := m.BinlogPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// MariaDB keeps a binlog until InnoDB no longer needs it for crash
	// recovery (its binlog checkpoint), so the first PURGE may leave it.
	for deadline := time.Now().Add(30 * time.Second); ; {
		mustExec(t, db, "PURGE BINARY LOGS TO '"+newest+"'")
		files, err := binaryLogs(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if files[0] == newest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlogs %v still there 30s after PURGE BINARY LOGS TO %s", files, newest)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("GTID %s at %s:%d purged; binlogs start at %s", oldGTID, oldFile, oldPos, newest)

	for _, c := range []struct {
		pos   position.MySQL
		names string
	}{
		{position.MySQL{GTIDSet: oldGTID, Flavor: "mariadb"}, oldGTID},
		{position.MySQL{File: oldFile, Pos: oldPos}, oldFile},
	} {
		err := CheckPositionAvailable(ctx, db, c.pos)
		t.Logf("%s: %v", c.pos, err)
		if !errors.Is(err, ErrPositionPurged) || !strings.Contains(err.Error(), c.names) || !strings.Contains(err.Error(), "re-snapshot") {
			t.Errorf("CheckPositionAvailable(%s) = %v, want ErrPositionPurged naming %s and the recovery", c.pos, err, c.names)
		}
	}
	now, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPositionAvailable(ctx, db, position.MySQL{GTIDSet: now, Flavor: "mariadb"}); err != nil {
		t.Errorf("the current position: %v", err)
	}

	for _, from := range []string{"gtid:" + oldGTID, "file:" + oldFile + ":" + strconv.FormatUint(oldPos, 10)} {
		h := startReader(t, testConfig(t, m, dbName), from, 16)
		if err := h.wait(t); !errors.Is(err, ErrPositionPurged) || retryable(err) {
			t.Errorf("Run from %s: %v, want a fatal ErrPositionPurged", from, err)
		}
	}

	h = startReader(t, testConfig(t, m, dbName), "earliest", 16)
	it = h.nextData(t)
	for it.Kind != source.Row {
		it = h.nextData(t)
	}
	if !it.Event.After[0].Equal(event.IntValue(3)) {
		t.Errorf("first row from earliest: %+v, want id 3, the only one left in the binlogs", it.Event.After)
	}
}
