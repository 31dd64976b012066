package sink

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

var cols = []event.Column{{Name: "id", Kind: event.Int}, {Name: "v", Kind: event.String}}

func up(table string, id int64, v string) Row {
	return Row{Op: event.OpInsert, Table: table, Columns: cols, Key: []int{0}, Values: []event.Value{event.IntValue(id), event.StringValue(v)}}
}

func del(table string, id int64) Row {
	r := up(table, id, "")
	r.Op = event.OpDelete
	return r
}

func moved(table string, from, to int64, v string) Row {
	r := up(table, to, v)
	r.Op = event.OpUpdate
	r.OldKey = []event.Value{event.IntValue(from)}
	return r
}

// describe renders runs as "U t[1=a 2=b] D t[3]".
func describe(runs []Run) string {
	var parts []string
	for _, r := range runs {
		var rows []string
		for _, row := range r.Rows {
			s := fmt.Sprint(row.Values[0].I)
			if !r.Delete {
				s += "=" + row.Values[1].S
			}
			rows = append(rows, s)
		}
		k := "U"
		if r.Delete {
			k = "D"
		}
		parts = append(parts, fmt.Sprintf("%s %s[%s]", k, r.Table, strings.Join(rows, " ")))
	}
	return strings.Join(parts, " ")
}

func TestRuns(t *testing.T) {
	tests := []struct {
		name string
		rows []Row
		want string
	}{
		{"empty", nil, ""},
		{"inserts share a run", []Row{up("t", 1, "a"), up("t", 2, "b"), up("t", 3, "c")}, "U t[1=a 2=b 3=c]"},
		{"consecutive upserts of a key collapse", []Row{up("t", 1, "a"), up("t", 1, "b"), up("t", 2, "c")}, "U t[1=b 2=c]"},
		{"non-consecutive repeat starts a new run", []Row{up("t", 1, "a"), up("t", 2, "b"), up("t", 1, "c")}, "U t[1=a 2=b] U t[1=c]"},
		{"delete then reinsert keeps order", []Row{up("t", 1, "a"), del("t", 1), up("t", 1, "b")}, "U t[1=a] D t[1] U t[1=b]"},
		{"deletes share a run", []Row{del("t", 1), del("t", 2), del("t", 2)}, "D t[1 2]"},
		{"tables split runs", []Row{up("t", 1, "a"), up("u", 1, "a"), up("t", 2, "b")}, "U t[1=a] U u[1=a] U t[2=b]"},
		{"key change is delete then upsert", []Row{up("t", 1, "a"), moved("t", 1, 5, "a")}, "U t[1=a] D t[1] U t[5=a]"},
		{"key change inside deletes", []Row{del("t", 7), moved("t", 1, 5, "a"), up("t", 6, "b")}, "D t[7 1] U t[5=a 6=b]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(Runs(tt.rows)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRunsSplitOnColumnChange(t *testing.T) {
	a := up("t", 1, "a")
	b := up("t", 2, "b")
	b.Columns = []event.Column{{Name: "id"}, {Name: "w"}}
	if n := len(Runs([]Row{a, b})); n != 2 {
		t.Fatalf("rows with different columns in one run: got %d runs", n)
	}
}

func TestKeyStringInjective(t *testing.T) {
	vals := [][]event.Value{
		{event.StringValue("a\xff"), event.StringValue("b")},
		{event.StringValue("a"), event.StringValue("\xffb")},
		{event.IntValue(1), event.StringValue("")},
		{event.UintValue(1), event.StringValue("")},
	}
	seen := map[string]int{}
	for i, v := range vals {
		k := keyString([]int{0, 1}, v)
		if j, dup := seen[k]; dup {
			t.Fatalf("keys %d and %d collide", i, j)
		}
		seen[k] = i
	}
}

func TestRowError(t *testing.T) {
	r := &Row{Topic: "sluice.shop.t", Partition: 2, Offset: 41, Schema: "shop", Table: "t"}
	err := &RowError{Row: r, Column: "price", Value: "1e999", Err: fmt.Errorf("out of range for numeric(10,2)")}
	want := `sluice.shop.t/2@41: table shop.t, column price, value "1e999": out of range for numeric(10,2)`
	if err.Error() != want {
		t.Fatalf("got %s", err)
	}
	if Retryable(err) || !Retryable(Transient(err)) {
		t.Fatal("retryable classification wrong")
	}
}
