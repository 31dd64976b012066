package schemas

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

// fixtureEvents is the golden sequence plus the forms the golden files do
// not hold: snapshot rows and markers, a keyless table, an origin tag.
func fixtureEvents() []event.Event {
	evs := eventtest.Events()
	snap := eventtest.Events()[0]
	snap.Op, snap.Tx = event.OpSnapshot, event.Tx{}
	last := eventtest.Events()[1]
	last.Op, last.Tx, last.Source.Snapshot = event.OpSnapshot, event.Tx{}, "last"
	start, done := snap, snap
	start.Op, start.After = event.OpSnapshotStart, nil
	done.Op, done.After = event.OpSnapshotComplete, nil
	keyless := eventtest.Events()[2]
	keyless.Key = nil
	tagged := eventtest.Events()[4]
	tagged.Origin = "to-warehouse"
	small := eventtest.Small()
	return append(evs, snap, last, start, done, keyless, tagged, small)
}

func headersOf(style string, e *event.Event) map[string]string {
	h := map[string]string{
		format.HeaderFormat:   style,
		format.HeaderPosition: e.Position,
		format.HeaderTypes:    string(format.AppendTypes(nil, e.Columns)),
	}
	if e.Origin != "" {
		h[format.HeaderOrigin] = e.Origin
	}
	return h
}

// TestMaxwellEncoderOutput validates what the Maxwell encoder writes for
// every fixture event, as capture would publish it.
func TestMaxwellEncoderOutput(t *testing.T) {
	s := load(t)
	enc := &maxwell.Encoder{UUIDSource: bytes.NewReader(bytes.Repeat([]byte{0xa5}, 1024))}
	for i, e := range fixtureEvents() {
		key, err := enc.AppendKey(nil, &e)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		val, err := enc.AppendValue(nil, &e)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if err := s.ValidateRecord(format.Maxwell, key, val, headersOf(format.Maxwell, &e)); err != nil {
			t.Errorf("event %d (%v %s.%s):\nkey   %s\nvalue %s\n%v", i, e.Op, e.Database, e.Table, key, val, err)
		}
	}
}

// TestDebeziumEncoderOutput validates what the Debezium encoder writes for
// every fixture event, bare and with the Connect schema wrapper, key
// changes split and deletes followed by their tombstone.
func TestDebeziumEncoderOutput(t *testing.T) {
	s := load(t)
	for _, wrap := range []bool{false, true} {
		enc := &debezium.Encoder{Opts: debezium.Options{Schema: wrap, Tombstones: true}}
		n := 0
		for _, e := range fixtureEvents() {
			evs := []event.Event{e}
			if del, create, ok := debezium.SplitKeyChange(&e); ok {
				evs = []event.Event{del, create}
			}
			for _, e := range evs {
				key, kerr := enc.AppendKey(nil, &e)
				val, verr := enc.AppendValue(nil, &e)
				if errors.Is(verr, debezium.ErrNotRepresentable) || (kerr != nil && len(e.Key) == 0) {
					continue // snapshot markers and keyless tables have no Debezium form
				}
				if kerr != nil || verr != nil {
					t.Fatalf("encoding %v: %v %v", e.Op, kerr, verr)
				}
				n++
				h := headersOf(format.Debezium, &e)
				if err := s.ValidateRecord(format.Debezium, key, val, h); err != nil {
					t.Errorf("wrapped=%v %v:\nkey   %s\nvalue %s\n%v", wrap, e.Op, key, val, err)
				}
				if e.Op == event.OpDelete {
					if err := s.ValidateRecord(format.Debezium, key, nil, h); err != nil {
						t.Errorf("wrapped=%v tombstone %s: %v", wrap, key, err)
					}
				}
			}
		}
		if n < 10 {
			t.Errorf("wrapped=%v: only %d records encoded", wrap, n)
		}
	}
}

// TestMongoEncoderOutput validates Debezium-style MongoDB records built by
// the codec from change-stream-like input.
func TestMongoEncoderOutput(t *testing.T) {
	s := load(t)
	src := debezium.MongoSource{Version: "0.1.0", Name: "sluice", TsMs: 1700000000000, Ord: 2}
	oid := `{"$oid":"65a1b2c3d4e5f60718293a4b"}`
	doc := `{"_id":` + oid + `,"qty":{"$numberInt":"3"},"price":{"$numberDecimal":"19.990"},"at":{"$date":{"$numberLong":"1700000000123"}}}`
	txn := int64(4)
	changes := []debezium.MongoChange{
		{Op: event.OpInsert, KeyExtJSON: oid, After: doc},
		{Op: event.OpUpdate, KeyExtJSON: oid, After: doc, Update: &debezium.UpdateDescription{UpdatedFields: `{"qty":{"$numberInt":"3"}}`, RemovedFields: []string{}}},
		{Op: event.OpUpdate, KeyExtJSON: oid, Update: &debezium.UpdateDescription{UpdatedFields: `{"a.b":{"$numberLong":"1"}}`, RemovedFields: []string{"c"}}},
		{Op: event.OpDelete, KeyExtJSON: oid, Before: doc},
		{Op: event.OpSnapshot, KeyExtJSON: `{"$numberInt":"7"}`, After: `{"_id":{"$numberInt":"7"}}`},
	}
	for i, c := range changes {
		c.DB, c.Collection, c.Source, c.EmitTimeMs = "shop", "carts", src, 1700000000500
		if i == 2 {
			c.Source.TxnNumber, c.Source.Lsid = &txn, `{"id":{"$binary":{"base64":"AAAAAAAAAAAAAAAAAAAAAA==","subType":"04"}}}`
		}
		key, err := debezium.AppendMongoKey(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		val, err := debezium.AppendMongoValue(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{format.HeaderFormat: format.Debezium, format.HeaderPosition: `{"resume_token":"8265A1B2C3000000012B022C0100296E5A1004"}`}
		kind, err := s.CheckRecord(format.Debezium, key, val, h)
		if err != nil {
			t.Errorf("change %d:\nkey   %s\nvalue %s\n%v", i, key, val, err)
		} else if kind != KindDebeziumMongo {
			t.Errorf("change %d taken for %s", i, kind)
		}
	}
}
