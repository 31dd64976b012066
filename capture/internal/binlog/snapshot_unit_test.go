package binlog

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// TestSnapshotKeyEncoding: composite keys of every kind go to text and
// back as query arguments of the key columns' kinds, BIGINT extremes
// exactly, binary keys in base64.
func TestSnapshotKeyEncoding(t *testing.T) {
	tests := []struct {
		name  string
		vals  []event.Value
		b64   bool
		after []string
		want  []any
	}{
		{"int and string", []event.Value{event.IntValue(math.MinInt64), event.StringValue("eu-west")}, false,
			[]string{"-9223372036854775808", "eu-west"}, []any{int64(math.MinInt64), "eu-west"}},
		{"uint max and year", []event.Value{event.UintValue(math.MaxUint64), event.YearValue(2024)}, false,
			[]string{"18446744073709551615", "2024"}, []any{uint64(math.MaxUint64), int64(2024)}},
		{"decimal and datetime", []event.Value{event.DecimalValue("12.500"), {Kind: event.DateTime, S: "2024-01-02 03:04:05.000006"}}, false,
			[]string{"12.500", "2024-01-02 03:04:05.000006"}, []any{"12.500", "2024-01-02 03:04:05.000006"}},
		{"float and bit", []event.Value{event.FloatValue(0.1), event.BitValue(5)}, false,
			[]string{"0.1", "5"}, []any{0.1, uint64(5)}},
		{"utf8 bytes", []event.Value{event.BytesValue([]byte("abc")), event.IntValue(1)}, false,
			[]string{"abc", "1"}, []any{[]byte("abc"), int64(1)}},
		{"binary bytes", []event.Value{event.BytesValue([]byte{0xff, 0x00, 0x01}), event.IntValue(7)}, true,
			[]string{"/wAB", "Nw=="}, []any{[]byte{0xff, 0x00, 0x01}, int64(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after, b64 := encodeKey(tt.vals)
			if b64 != tt.b64 || !reflect.DeepEqual(after, tt.after) {
				t.Fatalf("encodeKey = %q, %v; want %q, %v", after, b64, tt.after, tt.b64)
			}
			kinds := make([]event.Kind, len(tt.vals))
			for i, v := range tt.vals {
				kinds[i] = v.Kind
			}
			// The state is stored as JSON and read back before decoding.
			st, err := snapshot.ParseState(snapshot.State{Tables: []snapshot.Table{{DB: "d", Table: "t", After: after, After64: b64}}}.JSON())
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeKey(st.Tables[0].After, st.Tables[0].After64, kinds)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decodeKey = %#v, want %#v", got, tt.want)
			}
		})
	}
	if _, err := decodeKey([]string{"1"}, false, []event.Kind{event.Int, event.Int}); err == nil || !strings.Contains(err.Error(), "did the key change") {
		t.Errorf("key of another width: %v", err)
	}
	if _, err := decodeKey([]string{"x"}, false, []event.Kind{event.Int}); err == nil {
		t.Error("non-numeric value of an integer key accepted")
	}
	if _, err := decodeKey([]string{"!!"}, true, []event.Kind{event.Bytes}); err == nil {
		t.Error("bad base64 accepted")
	}
}

// TestFilePosCompare: binlog positions compare by file sequence number
// (not by name text), then offset.
func TestFilePosCompare(t *testing.T) {
	tests := []struct {
		a, b filePos
		want int
	}{
		{filePos{"bin.000009", 900}, filePos{"bin.000010", 4}, -1},
		{filePos{"bin.000010", 4}, filePos{"bin.000009", 900}, 1},
		{filePos{"bin.000010", 4}, filePos{"bin.000010", 4}, 0},
		{filePos{"bin.000010", 4}, filePos{"bin.000010", 5}, -1},
		{filePos{"bin.999999", 4}, filePos{"bin.1000000", 4}, -1},
		{filePos{"a.b.000002", 100}, filePos{"a.b.000001", 200}, 1},
	}
	for _, tt := range tests {
		if got := tt.a.cmp(tt.b); got != tt.want {
			t.Errorf("%v cmp %v = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if s := (filePos{"bin.000003", 120}).String(); s != "bin.000003:120" {
		t.Errorf("String() = %q", s)
	}
}

// TestSnapCoordAnnounce: a chunk is refused once the stream passed its
// position or reads another server; a second chunk may queue behind the
// first only at a position no earlier; dropping refuses every queued one.
func TestSnapCoordAnnounce(t *testing.T) {
	var c snapCoord
	if _, err := c.announce(filePos{"bin.000001", 100}, 1); !errors.Is(err, errStaleChunk) {
		t.Fatalf("before the stream connected: %v", err)
	}
	c.setMark(filePos{"bin.000001", 200}, 1, "db:3306")
	if _, err := c.announce(filePos{"bin.000001", 100}, 1); !errors.Is(err, errStaleChunk) {
		t.Fatalf("behind the mark: %v", err)
	}
	if _, err := c.announce(filePos{"bin.000001", 300}, 2); !errors.Is(err, errStaleChunk) {
		t.Fatalf("other server: %v", err)
	}
	b1, err := c.announce(filePos{"bin.000001", 300}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.announce(filePos{"bin.000001", 250}, 1); !errors.Is(err, errStaleChunk) {
		t.Fatalf("before the queued chunk: %v", err)
	}
	b2, err := c.announce(filePos{"bin.000002", 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bs) != 2 || c.bs[0] != b1 || c.bs[1] != b2 {
		t.Fatalf("queue %v", c.bs)
	}
	woken := 0
	c.setWake(func() { woken++ })
	c.deliver(b1, &chunk{}, nil)
	select {
	case <-b1.ready:
	default:
		t.Fatal("delivered chunk not ready")
	}
	if woken != 1 {
		t.Errorf("deliver woke the stream %d times", woken)
	}
	c.dropBarrier()
	for i, b := range []*barrier{b1, b2} {
		if err := <-b.done; !errors.Is(err, errStaleChunk) {
			t.Errorf("dropped chunk %d: %v", i, err)
		}
	}
	if addr, id := c.server(); addr != "db:3306" || id != 1 {
		t.Errorf("server() = %s, %d", addr, id)
	}
}

// TestFromDriver: binary-protocol values become the values the binlog
// reader produces, and bytes are copied out of the driver's buffer.
func TestFromDriver(t *testing.T) {
	buf := []byte("hello")
	tests := []struct {
		kind event.Kind
		in   any
		want event.Value
	}{
		{event.Int, int64(-5), event.IntValue(-5)},
		{event.Int, []byte("-5"), event.IntValue(-5)},
		{event.Year, int64(2024), event.YearValue(2024)},
		{event.Uint, uint64(math.MaxUint64), event.UintValue(math.MaxUint64)},
		{event.Uint, int64(7), event.UintValue(7)},
		{event.Float, float32(0.5), event.FloatValue(0.5)},
		{event.Float, 0.25, event.FloatValue(0.25)},
		{event.Bit, []byte{1, 2}, event.BitValue(258)},
		{event.Set, []byte("a,b"), event.SetValue([]string{"a", "b"})},
		{event.Set, []byte{}, event.SetValue([]string{})},
		{event.Bytes, buf, event.BytesValue([]byte("hello"))},
		{event.JSON, []byte(`{"a":1}`), event.JSONValue([]byte(`{"a":1}`))},
		{event.Decimal, []byte("1.50"), event.DecimalValue("1.50")},
		{event.String, []byte(""), event.StringValue("")},
		{event.String, nil, event.NullValue()},
	}
	for _, tt := range tests {
		got, err := fromDriver(tt.kind, tt.in)
		if err != nil {
			t.Errorf("%v %#v: %v", tt.kind, tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v %#v = %#v, want %#v", tt.kind, tt.in, got, tt.want)
		}
	}
	v, _ := fromDriver(event.Bytes, buf)
	buf[0] = 'j'
	if string(v.B) != "hello" {
		t.Errorf("bytes value shares the driver's buffer: %q", v.B)
	}
	if _, err := fromDriver(event.Float, []byte("x")); err == nil {
		t.Error("bytes for a float column accepted")
	}
}

// TestChunkQueries: keyset pagination, with the leading-column bound for
// composite keys, and quoted names.
func TestChunkQueries(t *testing.T) {
	m := &snapMeta{db: "shop", table: "or`ders", cols: []event.Column{{Name: "b"}, {Name: "a"}, {Name: "v"}}, key: []int{1, 0}}
	m.buildQueries()
	if want := "SELECT `b`, `a`, `v` FROM `shop`.`or``ders` ORDER BY `a`, `b` LIMIT ?"; m.first != want {
		t.Errorf("first:\n got %s\nwant %s", m.first, want)
	}
	if want := "SELECT `b`, `a`, `v` FROM `shop`.`or``ders` WHERE (`a`, `b`) > (?, ?) AND `a` >= ? ORDER BY `a`, `b` LIMIT ?"; m.next != want {
		t.Errorf("next:\n got %s\nwant %s", m.next, want)
	}
	m1 := &snapMeta{db: "d", table: "t", cols: []event.Column{{Name: "id"}, {Name: "v"}}, key: []int{0}}
	m1.buildQueries()
	if want := "SELECT `id`, `v` FROM `d`.`t` WHERE `id` > ? ORDER BY `id` LIMIT ?"; m1.next != want {
		t.Errorf("single-column next: %s", m1.next)
	}
	for name, ok := range map[string]bool{"db.t": true, "db.t.x": true, ".t": false, "db.": false, "dbt": false} {
		if _, _, got := splitTable(name); got != ok {
			t.Errorf("splitTable(%q) ok = %v", name, got)
		}
	}
}
