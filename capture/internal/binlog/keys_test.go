package binlog

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestKeys: primary keys in key order, a unique NOT NULL key standing in
// for a missing primary key, excluded columns that keep the key, and a
// keyless table refused by name unless KeylessFullRow.
func TestKeys(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dbName := m.CreateDatabase(t)
	db := openDB(t, m, dbName)
	mustExec(t, db,
		"CREATE TABLE pk2 (a INT NOT NULL, b INT NOT NULL, v INT, PRIMARY KEY (b, a))",
		// The nullable unique key sorts first and must be passed over.
		"CREATE TABLE uk (a INT NULL, b INT NOT NULL, c INT NOT NULL, UNIQUE KEY a_nullable (a), UNIQUE KEY b_good (c, b))",
		"CREATE TABLE ex (id INT PRIMARY KEY, secret VARCHAR(10), v INT)",
		"CREATE TABLE nokey (a INT, b INT)",
	)
	from := gtidNow(t, m)
	mustExec(t, db,
		"INSERT INTO pk2 VALUES (1, 2, 3)",
		"INSERT INTO uk VALUES (1, 2, 3)",
		"INSERT INTO ex VALUES (1, 'hunter2', 7)",
		"INSERT INTO nokey VALUES (1, 2)",
	)

	cfg := testConfig(t, m, dbName)
	cfg.Tables = func(d, tb string) bool { return d == dbName && tb != "nokey" }
	cfg.ExcludeColumn = func(_, tb, col string) bool { return tb == "ex" && (col == "secret" || col == "id") }
	h := startReader(t, cfg, from, 16)
	want := map[string]struct {
		cols string
		key  []int
	}{
		"pk2": {"a,b,v", []int{1, 0}},
		"uk":  {"a,b,c", []int{2, 1}},
		"ex":  {"id,v", []int{0}},
	}
	for range want {
		it := h.nextData(t)
		for it.Kind != source.Row {
			it = h.nextData(t)
		}
		ev := it.Event
		var names []string
		for _, c := range ev.Columns {
			names = append(names, c.Name)
		}
		w := want[ev.Table]
		if strings.Join(names, ",") != w.cols || !slices.Equal(ev.Key, w.key) || len(ev.After) != len(ev.Columns) {
			t.Errorf("%s: columns %v key %v (%d values), want columns %s key %v", ev.Table, names, ev.Key, len(ev.After), w.cols, w.key)
		}
	}

	cfg = testConfig(t, m, dbName)
	h = startReader(t, cfg, from, 16)
	err := h.wait(t)
	if err == nil || !strings.Contains(err.Error(), dbName+".nokey has no primary key") || retryable(err) {
		t.Fatalf("reader error = %v, want a fatal error naming %s.nokey", err, dbName)
	}

	cfg = testConfig(t, m, dbName)
	cfg.Tables = func(d, tb string) bool { return d == dbName && tb == "nokey" }
	cfg.KeylessFullRow = true
	h = startReader(t, cfg, from, 16)
	it := h.nextData(t)
	for it.Kind != source.Row {
		it = h.nextData(t)
	}
	if !slices.Equal(it.Event.Key, []int{0, 1}) {
		t.Errorf("keyless table with KeylessFullRow keyed by %v, want all columns [0 1]", it.Event.Key)
	}
}
