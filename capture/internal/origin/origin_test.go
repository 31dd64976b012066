package origin

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// script is a source that sends its items, then ends with err.
type script struct {
	items []source.Item
	err   error
}

func (s script) Run(ctx context.Context, _ string, out chan<- source.Item) error {
	for _, it := range s.items {
		select {
		case out <- it:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.err
}

var errEnd = errors.New("end of script")

func row(table string, id int64) source.Item {
	return source.Item{Kind: source.Row, Event: event.Event{Database: "shop", Table: table, Op: event.OpInsert,
		Columns: []event.Column{{Name: "id"}}, After: []event.Value{event.IntValue(id)}}}
}

func marker(origin string) source.Item {
	return source.Item{Kind: source.Row, Event: event.Event{Database: "shop", Table: MarkerTable, Op: event.OpUpdate,
		Columns: []event.Column{{Name: "id"}, {Name: "origin"}, {Name: "tx"}},
		Before:  []event.Value{event.IntValue(3), event.StringValue(origin), event.IntValue(1)},
		After:   []event.Value{event.IntValue(3), event.StringValue(origin), event.IntValue(2)}}}
}

func commit(pos string) source.Item { return source.Item{Kind: source.Commit, Position: pos} }

// trace renders what came out: "t:id@origin" per row, "C:pos" per commit.
func trace(items []source.Item) string {
	var parts []string
	for _, it := range items {
		switch it.Kind {
		case source.Commit:
			parts = append(parts, "C:"+it.Position)
		case source.Row:
			s := it.Event.Table + ":" + strconv.FormatInt(it.Event.After[0].I, 10)
			if it.Event.Origin != "" {
				s += "@" + it.Event.Origin
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []source.Item
		drop    []string
		want    string
		dropped map[string]int
	}{
		{
			name: "unmarked transactions pass untouched",
			in:   []source.Item{row("t", 1), row("t", 2), commit("p1"), row("t", 3), commit("p2")},
			want: "t:1 t:2 C:p1 t:3 C:p2",
		},
		{
			name:    "a dropped origin loses its rows, keeps its commit",
			in:      []source.Item{marker("b"), row("t", 1), row("u", 2), commit("p1"), row("t", 3), commit("p2")},
			drop:    []string{"b"},
			want:    "C:p1 t:3 C:p2",
			dropped: map[string]int{"b": 2},
		},
		{
			name: "another origin is tagged, only for its transaction",
			in:   []source.Item{marker("c"), row("t", 1), commit("p1"), row("t", 2), commit("p2")},
			drop: []string{"b"},
			want: "t:1@c C:p1 t:2 C:p2",
		},
		{
			name: "bookkeeping tables are never published",
			in:   []source.Item{row(OffsetsTable, 9), row("t", 1), commit("p1")},
			want: "t:1 C:p1",
		},
		{
			name:    "heartbeats pass while dropping",
			in:      []source.Item{marker("b"), row("t", 1), {Kind: source.Heartbeat, Position: "h"}, row("t", 2), commit("p1")},
			drop:    []string{"b"},
			want:    "C:p1",
			dropped: map[string]int{"b": 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dropped := map[string]int{}
			f := New(script{items: tc.in, err: errEnd}, tc.drop, func(o string, n int) { dropped[o] += n })
			out := make(chan source.Item, 100)
			if err := f.Run(context.Background(), "", out); !errors.Is(err, errEnd) {
				t.Fatalf("Run: %v, want the inner source's error", err)
			}
			close(out)
			var got []source.Item
			for it := range out {
				got = append(got, it)
			}
			if g := trace(got); g != tc.want {
				t.Errorf("out %q, want %q", g, tc.want)
			}
			if tc.dropped == nil {
				tc.dropped = map[string]int{}
			}
			if !mapsEqual(dropped, tc.dropped) {
				t.Errorf("dropped %v, want %v", dropped, tc.dropped)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	ka := make([]string, 0, len(a))
	for k := range a {
		ka = append(ka, k)
	}
	slices.Sort(ka)
	for _, k := range ka {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func TestMarkerWithoutOriginColumnFails(t *testing.T) {
	bad := row(MarkerTable, 1)
	f := New(script{items: []source.Item{bad, commit("p")}}, []string{"b"}, nil)
	err := f.Run(context.Background(), "", make(chan source.Item, 10))
	if err == nil || !strings.Contains(err.Error(), "no origin column") {
		t.Fatalf("err = %v, want a named error", err)
	}
}
