package snapshot

import (
	"context"
	"errors"
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

// TestConfigIdle: with an empty queue a snapshotter stops (initial_only:
// ErrDone; no signals: nil) or waits for the next request.
func TestConfigIdle(t *testing.T) {
	ctx := t.Context()
	if _, ok, err := (&Config{InitialOnly: true}).Idle(ctx, make(chan Signal)); ok || !errors.Is(err, ErrDone) {
		t.Errorf("initial_only: ok %v, err %v", ok, err)
	}
	if _, ok, err := (&Config{}).Idle(ctx, nil); ok || err != nil {
		t.Errorf("no signals: ok %v, err %v", ok, err)
	}
	sigs := make(chan Signal, 1)
	sigs <- Signal{Tables: []string{"d.t"}, Next: 7}
	if sig, ok, err := (&Config{}).Idle(ctx, sigs); !ok || err != nil || sig.Next != 7 {
		t.Errorf("signal: %+v, ok %v, err %v", sig, ok, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok, err := (&Config{}).Idle(cctx, make(chan Signal)); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: ok %v, err %v", ok, err)
	}
}
