package mapping

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

var cols = []event.Column{
	{Name: "id", Kind: event.Int}, {Name: "status", Kind: event.String},
	{Name: "total", Kind: event.Decimal}, {Name: "secret", Kind: event.String},
}

func row(id int64, status, total string) []event.Value {
	return []event.Value{event.IntValue(id), event.StringValue(status), event.DecimalValue(total), event.StringValue("x")}
}

func ev(op event.Op, before, after []event.Value) *event.Event {
	return &event.Event{Op: op, Database: "shop", Table: "orders", Columns: cols, Key: []int{0}, Before: before, After: after}
}

func names(r *sink.Row) string {
	var s []string
	for _, c := range r.Columns {
		s = append(s, c.Name)
	}
	return strings.Join(s, ",")
}

func TestMap(t *testing.T) {
	paid := &Filter{And: []Filter{{Column: "status", Op: "in", Values: []string{"paid", "shipped"}}, {Column: "total", Op: "gte", Value: "100"}}}
	tests := []struct {
		name    string
		cfg     Config
		e       *event.Event
		outcome int
		op      event.Op
		table   string
		cols    string
		oldKey  bool
	}{
		{"default keeps everything", Config{}, ev(event.OpInsert, nil, row(1, "new", "5")), Applied, event.OpInsert, ".orders", "id,status,total,secret", false},
		{"schema from source", Config{SchemaFromSource: true}, ev(event.OpInsert, nil, row(1, "new", "5")), Applied, event.OpInsert, "shop.orders", "id,status,total,secret", false},
		{"rename exclude static target", Config{Rules: []Rule{{Source: "shop.ord*", Target: "wh.{db}_{table}", Exclude: []string{"secret"}, Rename: map[string]string{"total": "amount"}, Static: map[string]string{"origin": "eu"}}}},
			ev(event.OpInsert, nil, row(1, "new", "5")), Applied, event.OpInsert, "wh.shop_orders", "id,status,amount,origin", false},
		{"include", Config{Rules: []Rule{{Source: "*.*", Include: []string{"id", "total"}}}}, ev(event.OpInsert, nil, row(1, "new", "5")), Applied, event.OpInsert, ".orders", "id,total", false},
		{"skip", Config{Rules: []Rule{{Source: "shop.orders", Skip: true}}}, ev(event.OpInsert, nil, row(1, "new", "5")), Filtered, 0, "", "", false},
		{"filter keeps", Config{Rules: []Rule{{Source: "shop.orders", Filter: paid}}}, ev(event.OpInsert, nil, row(1, "paid", "100.00")), Applied, event.OpInsert, ".orders", "id,status,total,secret", false},
		{"filter drops (numeric compare)", Config{Rules: []Rule{{Source: "shop.orders", Filter: paid}}}, ev(event.OpInsert, nil, row(1, "paid", "99.99")), Filtered, 0, "", "", false},
		{"update leaving filter deletes", Config{Rules: []Rule{{Source: "shop.orders", Filter: paid}}}, ev(event.OpUpdate, row(1, "paid", "150"), row(1, "refunded", "150")), Applied, event.OpDelete, ".orders", "id,status,total,secret", false},
		{"update never matching is filtered", Config{Rules: []Rule{{Source: "shop.orders", Filter: paid}}}, ev(event.OpUpdate, row(1, "new", "1"), row(1, "new", "2")), Filtered, 0, "", "", false},
		{"key change sets old key", Config{}, ev(event.OpUpdate, row(1, "new", "5"), row(2, "new", "5")), Applied, event.OpUpdate, ".orders", "id,status,total,secret", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			var out sink.Row
			got, err := New(tt.cfg).Map(tt.e, &out)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.outcome {
				t.Fatalf("outcome %d, want %d", got, tt.outcome)
			}
			if got == Filtered {
				return
			}
			if out.Op != tt.op || out.Schema+"."+out.Table != tt.table || names(&out) != tt.cols || (out.OldKey != nil) != tt.oldKey {
				t.Fatalf("got op %s table %s.%s cols %s oldkey %v", out.Op, out.Schema, out.Table, names(&out), out.OldKey)
			}
			if out.Columns[out.Key[0]].Name != "id" || out.Values[out.Key[0]].I == 0 {
				t.Fatalf("key lost: %+v", out)
			}
		})
	}
}

func TestMapErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"key excluded", Config{Rules: []Rule{{Source: "shop.orders", Exclude: []string{"id"}}}}, "key column \"id\" cannot be excluded"},
		{"unknown column", Config{Rules: []Rule{{Source: "shop.orders", Exclude: []string{"nope"}}}}, "\"nope\" named in include/exclude"},
		{"rename collides", Config{Rules: []Rule{{Source: "shop.orders", Rename: map[string]string{"status": "total"}}}}, "two columns map to target column \"total\""},
		{"filter column missing", Config{Rules: []Rule{{Source: "shop.orders", Filter: &Filter{Column: "nope", Op: "eq", Value: "1"}}}}, "filter column \"nope\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out sink.Row
			_, err := New(tt.cfg).Map(ev(event.OpInsert, nil, row(1, "a", "1")), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{Rules: []Rule{
		{Source: "noDot"},
		{Source: "a.b", Include: []string{"x"}, Exclude: []string{"y"}},
		{Source: "a.b", Filter: &Filter{Column: "x", Op: "like", Value: "1"}},
		{Source: "a.b", Filter: &Filter{Column: "x", Op: "in", Value: "1"}},
		{Source: "a.b", Target: "a.b.c"},
	}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"rules[0]: source", "rules[1]: set include or exclude", "rules[2]: filter: op \"like\"", "rules[3]: filter: op in", "rules[4]: target"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestNullMatchesOnlyNe(t *testing.T) {
	f := &Filter{Column: "status", Op: "ne", Value: "x"}
	c, _ := f.compile(cols)
	r := row(1, "", "1")
	r[1] = event.NullValue()
	if !c.match(cols, r) {
		t.Fatal("NULL should match ne")
	}
	c.op = "eq"
	if c.match(cols, r) {
		t.Fatal("NULL should not match eq")
	}
}

// Documents vary in their fields: include/exclude may name fields a
// document lacks, and renaming _id names the SQL key column.
func TestMapDocuments(t *testing.T) {
	bsonCol := func(name string) event.Column { return event.Column{Name: name, Type: "bson", Kind: event.JSON} }
	e := &event.Event{Op: event.OpInsert, Database: "shop", Table: "docs", Columns: []event.Column{bsonCol("_id"), bsonCol("a")},
		Key: []int{0}, After: []event.Value{event.JSONValue([]byte(`1`)), event.JSONValue([]byte(`"x"`))}}
	m := New(Config{Rules: []Rule{{Source: "shop.docs", Target: "documents", Exclude: []string{"secret"}, Rename: map[string]string{"_id": "id"}}}})
	var out sink.Row
	if _, err := m.Map(e, &out); err != nil {
		t.Fatal(err)
	}
	if out.Table != "documents" || names(&out) != "id,a" || out.Key[0] != 0 {
		t.Fatalf("%+v", out)
	}
	// A SQL table is still checked.
	e.Columns = cols
	e.After = row(1, "paid", "1")
	if _, err := New(Config{Rules: []Rule{{Source: "shop.orders", Exclude: []string{"nope"}}}}).Map(ev(event.OpInsert, nil, row(1, "a", "1")), &out); err == nil {
		t.Fatal("excluding a missing column of a SQL table: no error")
	}
}
