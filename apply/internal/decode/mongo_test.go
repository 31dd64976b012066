package decode

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

func TestDecodeMongoDebezium(t *testing.T) {
	c := &debezium.MongoChange{Op: event.OpInsert, DB: "shop", Collection: "orders", KeyExtJSON: `{"$numberInt":"1"}`,
		After: `{"_id":{"$numberInt":"1"},"name":"a"}`}
	v, err := debezium.AppendMongoValue(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := debezium.AppendMongoKey(nil, c)
	for _, hdr := range [][]kgo.RecordHeader{nil, {{Key: format.HeaderFormat, Value: []byte("debezium")}}} {
		d, _ := New(Auto)
		var e event.Event
		skip, err := d.Decode(&kgo.Record{Key: k, Value: v, Headers: hdr}, &e)
		if err != nil || skip != "" {
			t.Fatalf("%v %q", err, skip)
		}
		if e.Table != "orders" || !docrow.IsDoc(e.Columns) || len(e.After) != 2 || e.Op != event.OpInsert {
			t.Fatalf("%+v", e)
		}
	}
	// A MySQL row whose value merely contains "mongodb" stays a row.
	row := `{"before":null,"after":{"id":1,"s":"mongodb"},"source":{"connector":"mysql","db":"shop","table":"t"},"op":"c"}`
	d, _ := New(Debezium)
	var e event.Event
	if _, err := d.Decode(&kgo.Record{Key: []byte(`{"id":1}`), Value: []byte(row)}, &e); err != nil || docrow.IsDoc(e.Columns) {
		t.Fatalf("mysql row: %v %+v", err, e)
	}
}

func TestDecodeChangeStream(t *testing.T) {
	ev := `{"operationType":"delete","ns":{"db":"shop","coll":"orders"},"documentKey":{"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"}}}`
	for _, hdr := range [][]kgo.RecordHeader{nil, {{Key: format.HeaderFormat, Value: []byte(ChangeStream)}}} {
		d, _ := New(Auto)
		var e event.Event
		skip, err := d.Decode(&kgo.Record{Value: []byte(ev), Headers: hdr}, &e)
		if err != nil || skip != "" || e.Op != event.OpDelete || string(e.Before[0].B) != `{"$oid":"65a1b2c3d4e5f60718293a4b"}` {
			t.Fatalf("%v %q %+v", err, skip, e)
		}
	}
	d, _ := New(ChangeStream)
	var e event.Event
	skip, err := d.Decode(&kgo.Record{Value: []byte(`{"operationType":"drop","ns":{"db":"shop","coll":"orders"}}`)}, &e)
	if err != nil || skip != SkipDDL {
		t.Fatalf("drop: %v %q", err, skip)
	}
}
