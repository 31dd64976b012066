package e2e

import (
	"strings"
	"testing"
)

// TestValidate feeds the validator hand-made event lists: the correct one
// passes, and each fault (a lost change, a duplicated one, two changes of
// a key swapped, a change the source never made, a broken transaction
// mark, a transaction split in two) is caught and counted.
func TestValidate(t *testing.T) {
	a1, a2, b1 := rowKey{"a", 1}, rowKey{"a", 2}, rowKey{"b", 1}
	l1, l2 := rowKey{ledgerTable, 1}, rowKey{ledgerTable, 2}
	tr := truth{
		Versions: map[rowKey]int{a1: 3, a2: 1, b1: 2, l1: 1, l2: 1},
		TxRows:   map[int64]int{1: 4, 2: 4},
	}
	ev := func(k rowKey, ver int, tx string, idx int, last bool) change {
		op := "insert"
		if ver > 1 {
			op = "update"
		}
		return change{Topic: "x." + k.Table, Partition: int32(k.ID % 2), Key: k, Op: op, Version: ver, TxID: tx, XID: 1, Index: idx, Last: last}
	}
	// Writer transaction 1 (GTID 0-1-1): a1 v1, a2 v1, b1 v1, ledger 1.
	// Writer transaction 2 (GTID 0-1-2): a1 v2, a1 v3, b1 v2, ledger 2.
	base := func() []change {
		return []change{
			ev(a1, 1, "0-1-1", 0, false), ev(a2, 1, "0-1-1", 1, false), ev(b1, 1, "0-1-1", 2, false), ev(l1, 1, "0-1-1", 3, true),
			ev(a1, 2, "0-1-2", 0, false), ev(a1, 3, "0-1-2", 1, false), ev(b1, 2, "0-1-2", 2, false), ev(l2, 1, "0-1-2", 3, true),
		}
	}
	if r := validate(tr, base()); !r.ok() {
		t.Fatalf("a correct stream fails: %s", r)
	} else {
		t.Logf("correct: %s", r)
	}

	cases := []struct {
		name  string
		edit  func([]change) []change
		check func(report) bool
		want  string
	}{
		{"loss", func(e []change) []change { return append(e[:5:5], e[6:]...) }, // a1 v3 lost
			func(r report) bool { return r.Missing == 1 }, "missing: a/1 version 3"},
		{"duplicate", func(e []change) []change { return append(e, e[1]) }, // a2 v1 again
			func(r report) bool { return r.Duplicates == 1 && r.Missing == 0 }, "duplicate: a/2 version 1"},
		{"reorder", func(e []change) []change { e[4], e[5] = e[5], e[4]; return e }, // a1 v3 before v2
			func(r report) bool { return r.Reordered == 1 && r.Missing == 0 && r.Duplicates == 0 }, "reordered: a/1 version 2"},
		{"replay after a crash", func(e []change) []change { return append(e, e[4:]...) }, // transaction 2 again
			func(r report) bool { return r.Duplicates == 4 && r.TxErrors == 0 }, "duplicate: a/1 version 2"},
		{"never committed", func(e []change) []change { return append(e, ev(a1, 4, "0-1-3", 0, true)) },
			func(r report) bool { return r.Unexpected == 1 }, "unexpected: a/1 version 4"},
		{"no commit mark", func(e []change) []change { e[3].Last = false; return e },
			func(r report) bool { return r.TxErrors == 1 }, "transaction 0-1-1: row 3 of 4 marked last=false"},
		{"two commit marks", func(e []change) []change { e[4].Last = true; return e },
			func(r report) bool { return r.TxErrors == 1 }, "transaction 0-1-2: row 0 of 4 marked last=true"},
		{"no transaction id", func(e []change) []change { e[2].TxID = ""; return e },
			func(r report) bool { return r.TxErrors >= 1 }, "no transaction id: b/1 version 1"},
		{"transaction split", func(e []change) []change {
			e[4].TxID, e[4].Last, e[5].Index, e[6].Index, e[7].Index = "0-1-9", true, 0, 1, 2
			return e
		}, func(r report) bool { return r.TxErrors == 2 }, "writer transaction 2 had 4 row events, this transaction has 3"},
		{"key in two partitions", func(e []change) []change { e[5].Partition = 7; return e },
			func(r report) bool { return !r.ok() }, "key a/1 in two partitions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validate(tr, c.edit(base()))
			if r.ok() || !c.check(r) || !strings.Contains(r.String(), c.want) {
				t.Errorf("want a failure with %q, got: %s", c.want, r)
			}
		})
	}
}
