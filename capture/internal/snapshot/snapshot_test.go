package snapshot

import (
	"reflect"
	"strings"
	"testing"
)

// TestStateJSON: the stored state survives a round trip, an empty
// state stores nothing, and bad input is an error naming it.
func TestStateJSON(t *testing.T) {
	st := State{
		Tables: []Table{
			{DB: "shop", Table: "orders", After: []string{"42", "eu"}, Rows: 20000, Total: 1000000, StartedMs: 1700000000000, Chunks: 2},
			{DB: "shop", Table: "items"},
		},
		Done:          []string{"shop.users"},
		SignalsOffset: 7,
	}
	js := st.JSON()
	for _, want := range []string{`"db":"shop"`, `"after":["42","eu"]`, `"total_estimate":1000000`, `"signals_offset":7`, `"done":["shop.users"]`} {
		if !strings.Contains(js, want) {
			t.Errorf("%s lacks %s", js, want)
		}
	}
	if strings.Contains(js, "after_base64") {
		t.Errorf("%s: after_base64 should be omitted when false", js)
	}
	got, err := ParseState(js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
	if s := (State{}).JSON(); s != "" {
		t.Errorf("empty state stores %q, want nothing", s)
	}
	if got, err := ParseState(""); err != nil || len(got.Tables) != 0 {
		t.Errorf(`"" parses as %+v, %v`, got, err)
	}
	for _, bad := range []string{`{`, `[]`, `{"tables":{}}`, `{"tables":[{"db":1}]}`, `{"signals_offset":"x"}`} {
		if _, err := ParseState(bad); err == nil || !strings.Contains(err.Error(), "stored snapshot state") {
			t.Errorf("%s: err %v, want a stored snapshot state error", bad, err)
		}
	}
	// The clone does not share the queue with the original.
	c := st.Clone()
	c.Tables[0].Rows = 1
	c.Done[0] = "x"
	if st.Tables[0].Rows != 20000 || st.Done[0] != "shop.users" {
		t.Error("clone shares slices with the original")
	}
	if !st.Has("shop", "items") || st.Has("shop", "users") {
		t.Error("has")
	}
}
