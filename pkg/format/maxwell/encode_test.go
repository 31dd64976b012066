package maxwell

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

func TestEncodeExact(t *testing.T) {
	upd := edgeEvent("double", event.FloatValue(2.5))
	upd.Op = event.OpUpdate
	upd.Before = []event.Value{event.IntValue(1), event.FloatValue(1.5)}
	upd.Source.GTID = "0-9-1"
	snap := edgeEvent("set('a','b')", event.SetValue([]string{"a", "b"}))
	snap.Op, snap.Tx = event.OpSnapshot, event.Tx{}
	start := edgeEvent("int", event.IntValue(0))
	start.Op, start.After = event.OpSnapshotStart, nil
	del := edgeEvent("blob", event.BytesValue([]byte("hi")))
	del.Op, del.Before, del.After = event.OpDelete, del.After, nil
	del.Tx.Last = false
	tests := []struct {
		name       string
		e          event.Event
		key, value string
	}{
		{"update", upd, `{"database":"d","table":"t","pk.id":1}`,
			`{"database":"d","table":"t","type":"update","ts":1234,"xid":77,"xoffset":5,"commit":true,"position":"bin.000001:4","gtid":"0-9-1","server_id":9,"thread_id":3,"primary_key":[1],"primary_key_columns":["id"],"data":{"id":1,"c":2.5},"old":{"c":1.5}}`},
		{"delete has the deleted row as data", del, `{"database":"d","table":"t","pk.id":1}`,
			`{"database":"d","table":"t","type":"delete","ts":1234,"xid":77,"xoffset":5,"position":"bin.000001:4","server_id":9,"thread_id":3,"primary_key":[1],"primary_key_columns":["id"],"data":{"id":1,"c":"aGk="}}`},
		{"bootstrap-insert", snap, `{"database":"d","table":"t","pk.id":1}`,
			`{"database":"d","table":"t","type":"bootstrap-insert","ts":1234,"position":"bin.000001:4","server_id":9,"primary_key":[1],"primary_key_columns":["id"],"data":{"id":1,"c":["a","b"]}}`},
		{"bootstrap-start", start, `{"database":"d","table":"t","pk.id":null}`,
			`{"database":"d","table":"t","type":"bootstrap-start","ts":1234,"data":{}}`},
	}
	var enc Encoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := enc.AppendKey(nil, &tt.e)
			if err != nil {
				t.Fatal(err)
			}
			value, err := enc.AppendValue(nil, &tt.e)
			if err != nil {
				t.Fatal(err)
			}
			if string(key) != tt.key {
				t.Errorf("key\n got %s\nwant %s", key, tt.key)
			}
			if string(value) != tt.value {
				t.Errorf("value\n got %s\nwant %s", value, tt.value)
			}
		})
	}
}

func TestEncodeKeyNames(t *testing.T) {
	e := edgeEvent("int", event.IntValue(7))
	e.Columns[0].Name, e.Columns[1].Name = `ID"x`, "Ünï"
	e.Key = []int{1, 0}
	key, err := new(Encoder).AppendKey([]byte("prefix"), &e)
	if err != nil {
		t.Fatal(err)
	}
	// Lower-cased as Maxwell does, escaped, in key order, after dst's bytes.
	if want := `prefix{"database":"d","table":"t","pk.ünï":7,"pk.id\"x":1}`; string(key) != want {
		t.Fatalf("key %s, want %s", key, want)
	}
}

func TestEncodeKeylessUUID(t *testing.T) {
	e := edgeEvent("int", event.IntValue(7))
	e.Key = nil
	enc := Encoder{UUIDSource: bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))}
	key, err := enc.AppendKey(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"database":"d","table":"t","_uuid":"ffffffff-ffff-4fff-bfff-ffffffffffff"}`; string(key) != want {
		t.Fatalf("key %s, want %s", key, want)
	}
	// Real randomness: a version 4 UUID, different each time.
	uuid := regexp.MustCompile(`^\{"database":"d","table":"t","_uuid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$`)
	k1, _ := new(Encoder).AppendKey(nil, &e)
	k2, _ := new(Encoder).AppendKey(nil, &e)
	if !uuid.Match(k1) || bytes.Equal(k1, k2) {
		t.Fatalf("keys %s and %s", k1, k2)
	}
	value, err := enc.AppendValue(nil, &e)
	if err != nil || !bytes.Contains(value, []byte(`"primary_key":[],"primary_key_columns":[],`)) {
		t.Fatalf("value %s, %v", value, err)
	}
	_, err = (&Encoder{UUIDSource: bytes.NewReader(nil)}).AppendKey(nil, &e)
	if err == nil || !strings.Contains(err.Error(), "randomness") {
		t.Fatalf("short randomness: %v", err)
	}
}

func TestEncodeOldSkipsUnknownBefore(t *testing.T) {
	e := edgeEvent("int", event.IntValue(2))
	e.Op = event.OpUpdate
	e.Before = []event.Value{{}, event.IntValue(1)} // id unknown, c changed
	value, err := new(Encoder).AppendValue(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(value, []byte(`"data":{"id":1,"c":2},"old":{"c":1}}`)) {
		t.Fatalf("value %s", value)
	}
}

func TestEncodeNonFinite(t *testing.T) {
	e := edgeEvent("double", event.FloatValue(math.NaN()))
	value, err := new(Encoder).AppendValue(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(value, []byte(`"c":"NaN"`)) || !json.Valid(value) {
		t.Fatalf("value %s", value)
	}
}

func TestEncodeErrors(t *testing.T) {
	mod := func(f func(e *event.Event)) event.Event {
		e := eventtest.Small()
		f(&e)
		return e
	}
	tests := []struct {
		name string
		e    event.Event
		want string // in the value's error; the key's too when keyToo
		key  bool
	}{
		{"absent value", mod(func(e *event.Event) { e.After[2] = event.Value{} }), "maxwell: encoding shop.orders.sku: data: value is absent", false},
		{"absent key value", mod(func(e *event.Event) { e.After[0] = event.Value{} }), "shop.orders.id", true},
		{"invalid json", mod(func(e *event.Event) {
			e.Columns[6] = event.Column{Name: "note", Type: "json", Kind: event.JSON}
			e.After[6] = event.JSONValue([]byte(`{"a":`))
		}), "shop.orders.note: data: JSON column value is not valid JSON", false},
		{"empty json", mod(func(e *event.Event) {
			e.Columns[6] = event.Column{Name: "note", Type: "json", Kind: event.JSON}
			e.After[6] = event.JSONValue(nil)
		}), "shop.orders.note: data: JSON column value is not valid JSON", false},
		{"key index out of range", mod(func(e *event.Event) { e.Key = []int{10} }), "shop.orders: key column index 10 out of range (10 columns)", true},
		{"negative key index", mod(func(e *event.Event) { e.Key = []int{-1} }), "key column index -1 out of range", true},
		{"bad decimal", mod(func(e *event.Event) { e.After[4] = event.DecimalValue("1.") }), `shop.orders.price: data: decimal "1." is not a number`, false},
		{"empty decimal", mod(func(e *event.Event) { e.After[4] = event.DecimalValue("") }), `decimal "" is not a number`, false},
		{"kind mismatch", mod(func(e *event.Event) { e.After[3] = event.IntValue(3) }), "shop.orders.qty: data: value of kind int in a column of kind uint (int(10) unsigned)", false},
		{"short row", mod(func(e *event.Event) { e.After = e.After[:9] }), "row image has 9 values for 10 columns", true},
		{"invalid op", mod(func(e *event.Event) { e.Op = event.OpInvalid }), "cannot encode op invalid", true},
		{"unknown op", mod(func(e *event.Event) { e.Op = 99 }), "cannot encode op invalid", true},
		{"delete without before", mod(func(e *event.Event) { e.Op = event.OpDelete }), "row image has 0 values", true},
		{"short before", mod(func(e *event.Event) { e.Op = event.OpUpdate; e.Before = e.After[:3] }), "before image has 3 values for 10 columns", false},
		{"absent old after", mod(func(e *event.Event) {
			e.Op = event.OpUpdate
			e.Before = append([]event.Value(nil), e.After...)
			e.Before[5] = event.EnumValue("new")
			e.After[5] = event.Value{}
		}), "shop.orders.status: data: value is absent", false},
	}
	var enc Encoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := enc.AppendValue(dst, &tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("value error = %v, want %q", err, tt.want)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed on error: %q", out)
			}
			out, err = enc.AppendKey(dst, &tt.e)
			if tt.key && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("key error = %v, want %q", err, tt.want)
			}
			if err != nil && string(out) != "keep" {
				t.Fatalf("dst changed on key error: %q", out)
			}
		})
	}
}

func TestValidNumber(t *testing.T) {
	good := []string{"0", "-0", "1", "-12.500", "1e5", "1E+5", "2.5e-3", "99999999999999999999999999999"}
	bad := []string{"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x10", "NaN", "1 ", " 1", "1.5.5", "--1"}
	for _, s := range good {
		if !validNumber(s) || !json.Valid([]byte(s)) {
			t.Errorf("validNumber(%q) = false", s)
		}
	}
	for _, s := range bad {
		if validNumber(s) {
			t.Errorf("validNumber(%q) = true", s)
		}
	}
}

func FuzzValidNumber(f *testing.F) {
	f.Add("-12.5e+3")
	f.Fuzz(func(t *testing.T, s string) {
		if validNumber(s) != (json.Valid([]byte(s)) && s != "" && (s[0] == '-' || isDigit(s[0])) && strings.TrimSpace(s) == s) {
			t.Fatalf("validNumber(%q) disagrees with encoding/json", s)
		}
	})
}
