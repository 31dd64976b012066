package binlog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestAllTypes is the key evidence for G8 on the capture side: the fixture's
// statements, run on a real MariaDB and read back from its binlog, give the
// fixture's events, every type at its edge values.
func TestAllTypes(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db, eventtest.CreateTableSQL(dbName, eventtest.Table))
	from := gtidNow(t, m)
	conn := session(t, db)
	var gtids []string // the GTID of each fixture transaction, in order
	for _, tx := range eventtest.Statements(dbName, eventtest.Table) {
		execTx(t, conn, tx...)
		g, err := m.GTIDPosition(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		gtids = append(gtids, g)
	}

	h := startReader(t, testConfig(t, m, dbName), from, 4)
	want := eventtest.Events()
	var fixtureTx []string // fixture tx ids in order, mapped by index to gtids
	for _, w := range want {
		if !slices.Contains(fixtureTx, w.Tx.ID) {
			fixtureTx = append(fixtureTx, w.Tx.ID)
		}
	}
	prevPos := ""
	var commit source.Item
	for i, commits := 0, 0; commits < len(gtids); {
		it := h.nextData(t)
		if it.Kind == source.Commit {
			if it.TxID != gtids[commits] {
				t.Errorf("commit %d: TxID %s, want %s", commits, it.TxID, gtids[commits])
			}
			if i == 0 || want[i-1].Tx.ID != fixtureTx[commits] || !want[i-1].Tx.Last {
				t.Fatalf("commit of %s after %d rows: the transaction's rows are not all there", it.TxID, i)
			}
			p := parsePosition(t, it.Position)
			if p.GTIDSet != gtids[commits] || p.File == "" || p.Pos == 0 || p.ServerID != 1 || p.Flavor != "mariadb" {
				t.Errorf("commit %d position %s: want GTID %s, a file and pos, server_id 1, flavor mariadb", commits, it.Position, gtids[commits])
			}
			prevPos, commit = it.Position, it
			commits++
			continue
		}
		if it.Kind != source.Row || i >= len(want) {
			t.Fatalf("item %+v: want row %d of %d", it, i, len(want))
		}
		checkEvent(t, i, it.Event, want[i], dbName, gtids[slices.Index(fixtureTx, want[i].Tx.ID)])
		if i == 0 {
			var types []string
			for _, c := range it.Event.Columns {
				types = append(types, c.Name+" "+c.Type)
			}
			t.Logf("column types from the table map: %s", strings.Join(types, ", "))
		}
		if prevPos == "" {
			if p := parsePosition(t, it.Event.Position); "gtid:"+p.GTIDSet != from {
				t.Errorf("row %d: position %s, want the start position %s", i, it.Event.Position, from)
			}
		} else if it.Event.Position != prevPos {
			t.Errorf("row %d: position %s, want the previous commit's %s", i, it.Event.Position, prevPos)
		}
		i++
	}
	// The last commit is where the server is; a quiet source then sends
	// heartbeats with that position.
	file, pos, err := m.BinlogPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := parsePosition(t, commit.Position); p.File != file || p.Pos != pos {
		t.Errorf("last commit at %s:%d, server at %s:%d", p.File, p.Pos, file, pos)
	}
	it := h.next(t)
	if it.Kind != source.Heartbeat || it.Position != commit.Position || time.Since(time.UnixMilli(it.SourceTimeMs)) > time.Minute {
		t.Errorf("after the last commit: %+v, want a heartbeat with position %s", it, commit.Position)
	}
}

// checkEvent compares one captured event with the fixture's, field by field.
func checkEvent(t *testing.T, i int, got, want event.Event, db, gtid string) {
	t.Helper()
	where := fmt.Sprintf("row %d (%v)", i, want.Op)
	if got.Op != want.Op || got.Database != db || got.Table != want.Table {
		t.Fatalf("%s: %v %s.%s, want %v %s.%s", where, got.Op, got.Database, got.Table, want.Op, db, want.Table)
	}
	if len(got.Columns) != len(want.Columns) {
		t.Fatalf("%s: %d columns, want %d", where, len(got.Columns), len(want.Columns))
	}
	for c := range want.Columns {
		g, w := got.Columns[c], want.Columns[c]
		if g.Name != w.Name || g.Kind != w.Kind || event.KindOf(g.Type) != g.Kind {
			t.Errorf("%s column %d = %+v, want name %s kind %v", where, c, g, w.Name, w.Kind)
		}
	}
	if !slices.Equal(got.Key, want.Key) {
		t.Errorf("%s key %v, want %v", where, got.Key, want.Key)
	}
	compareRow(t, where+" before", got.Columns, got.Before, want.Before)
	compareRow(t, where+" after", got.Columns, got.After, want.After)
	tx := got.Tx
	if tx.ID != gtid || tx.Seq != want.Tx.Seq || tx.TableSeq != want.Tx.TableSeq || tx.Last != want.Tx.Last || tx.XID == 0 {
		t.Errorf("%s tx %+v, want id %s seq %d table seq %d last %v and an XID (every row of a held transaction)", where, tx, gtid, want.Tx.Seq, want.Tx.TableSeq, want.Tx.Last)
	}
	s := got.Source
	if s.Connector != "mariadb" || s.Name != "sluice" || s.Version != "test" || s.ServerID != 1 || s.GTID != gtid || !strings.HasPrefix(s.File, "mariadb-bin.") || s.Pos < 4 {
		t.Errorf("%s source %+v", where, s)
	}
	if got.SourceTimeMs <= 0 || got.EmitTimeMs < got.SourceTimeMs-1000 {
		t.Errorf("%s times: source %d emit %d", where, got.SourceTimeMs, got.EmitTimeMs)
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
			t.Errorf("%s %s = %+v, want %+v", what, cols[i].Name, got[i], want[i])
		}
	}
}
