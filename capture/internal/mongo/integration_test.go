package mongo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// allTypes is a document with every BSON type of DESIGN G8 the server
// supports (Decimal128 only on a real server).
func allTypes(real bool) bson.D {
	d := bson.D{
		{Key: "_id", Value: bson.ObjectID{0x65, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b}},
		{Key: "i32", Value: int32(-2147483648)},
		{Key: "i64", Value: int64(9223372036854775807)},
		{Key: "i64small", Value: int64(1)},
		{Key: "dbl", Value: 3.141592653589793},
		{Key: "dblint", Value: 2.0},
		{Key: "nan", Value: math.NaN()},
		{Key: "inf", Value: math.Inf(1)},
		{Key: "ninf", Value: math.Inf(-1)},
		{Key: "negzero", Value: math.Copysign(0, -1)},
		{Key: "date", Value: bson.DateTime(1700000000123)},
		{Key: "predate", Value: bson.DateTime(-62135596800000)},
		{Key: "ts", Value: bson.Timestamp{T: 1700000000, I: 7}},
		{Key: "bin", Value: bson.Binary{Subtype: 0x00, Data: []byte{0, 1, 2, 0xff}}},
		{Key: "uuid", Value: bson.Binary{Subtype: 0x04, Data: bytes.Repeat([]byte{0xab}, 16)}},
		{Key: "re", Value: bson.Regex{Pattern: `^a.*\d+$`, Options: "im"}},
		{Key: "str", Value: "emoji 😀 and \"quotes\" \u0000 nul"},
		{Key: "bool", Value: true},
		{Key: "null", Value: nil},
		{Key: "nested", Value: bson.D{{Key: "a", Value: bson.D{{Key: "b", Value: int32(1)}}}, {Key: "z", Value: int64(2)}}},
		{Key: "arr", Value: bson.A{int32(1), int64(2), "three", bson.D{{Key: "four", Value: 4.0}}, bson.A{}, nil}},
		{Key: "empty", Value: bson.D{}},
	}
	if real { // mongo-java-server: no Decimal128, refuses binary subtype 5, stores 0x80 as 0x00
		d = append(d, bson.E{Key: "md5", Value: bson.Binary{Subtype: 0x05, Data: bytes.Repeat([]byte{0x5d}, 16)}},
			bson.E{Key: "user", Value: bson.Binary{Subtype: 0x80, Data: []byte("x")}})
		dec, _ := bson.ParseDecimal128("1234567890.123456789012345678901234")
		d = append(d, bson.E{Key: "dec", Value: dec})
	}
	return d
}

// TestCaptureDebeziumTypes captures inserts, updates and deletes of one
// collection into Kafka in the Debezium MongoDB style and reads them back
// read_committed: keys, ops, and every BSON type of the inserted document
// byte for byte.
func TestCaptureDebeziumTypes(t *testing.T) {
	e := newEnv(t)
	c := e.m.Connect(t).Database(e.db).Collection(e.coll)
	ctx := t.Context()
	e.run(t, e.sourceConfig(t), DebeziumEncoder{}, startSpec())

	doc := allTypes(e.m.Real())
	id := doc[0].Value
	_, err := c.InsertOne(ctx, doc)
	must(t, err, "insert")
	_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: "string-id"}, {Key: "n", Value: int32(1)}})
	must(t, err, "insert")
	_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: int64(1) << 40}, {Key: "n", Value: int32(1)}})
	must(t, err, "insert")
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "i32", Value: int32(5)}}}})
	must(t, err, "update")
	_, err = c.DeleteOne(ctx, bson.D{{Key: "_id", Value: "string-id"}})
	must(t, err, "delete")

	recs := consume(t, e.brokers, e.topic(), 5, 60*time.Second)
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5", len(recs))
	}
	type want struct {
		op  event.Op
		key string
	}
	wants := []want{{event.OpInsert, idJSON(t, id)}, {event.OpInsert, `"string-id"`}, {event.OpInsert, `{"$numberLong":"1099511627776"}`},
		{event.OpUpdate, idJSON(t, id)}, {event.OpDelete, `"string-id"`}}
	var changes []*debezium.MongoChange
	for i, r := range recs {
		ch, err := debezium.DecodeMongo(r.Key, r.Value)
		must(t, err, "decoding record %d %s", i, r.Value)
		if ch.Op != wants[i].op || ch.KeyExtJSON != wants[i].key {
			t.Errorf("record %d: op %v key %s, want %v %s", i, ch.Op, ch.KeyExtJSON, wants[i].op, wants[i].key)
		}
		if ch.DB != e.db || ch.Collection != e.coll || ch.Source.TsMs == 0 {
			t.Errorf("record %d: source %s.%s ts_ms %d", i, ch.DB, ch.Collection, ch.Source.TsMs)
		}
		if f := header(r, format.HeaderFormat); f != "debezium" {
			t.Errorf("record %d: format header %q", i, f)
		}
		if p := header(r, format.HeaderPosition); !json.Valid([]byte(p)) {
			t.Errorf("record %d: position header %q", i, p)
		}
		changes = append(changes, ch)
	}
	// Every type round-trips exactly: the captured document's BSON is the
	// inserted document's BSON.
	wantBSON, _ := bson.Marshal(doc)
	var got bson.Raw
	must(t, bson.UnmarshalExtJSON([]byte(changes[0].After), true, &got), "after %s", changes[0].After)
	if !bytes.Equal(got, wantBSON) {
		t.Errorf("insert after-image differs:\n got %s\nwant %s", changes[0].After, canon(t, bson.Raw(wantBSON)))
	}
	// The update carries the looked-up document.
	doc[1].Value = int32(5)
	wantBSON, _ = bson.Marshal(doc)
	must(t, bson.UnmarshalExtJSON([]byte(changes[3].After), true, &got), "after %s", changes[3].After)
	if !bytes.Equal(got, wantBSON) {
		t.Errorf("update after-image differs:\n got %s\nwant %s", changes[3].After, canon(t, bson.Raw(wantBSON)))
	}
	if u := changes[3].Update; e.m.Real() && (u == nil || u.UpdatedFields != `{"i32":{"$numberInt":"5"}}`) {
		t.Errorf("updateDescription = %+v", u)
	}
	if changes[4].After != "" {
		t.Errorf("delete has after %s", changes[4].After)
	}
}

// TestCaptureChangeStreamFormat publishes the change event itself.
func TestCaptureChangeStreamFormat(t *testing.T) {
	e := newEnv(t)
	c := e.m.Connect(t).Database(e.db).Collection(e.coll)
	e.run(t, e.sourceConfig(t), ChangeStreamEncoder{}, startSpec())
	doc := bson.D{{Key: "_id", Value: int32(7)}, {Key: "l", Value: int64(3)}, {Key: "d", Value: bson.DateTime(5)}}
	_, err := c.InsertOne(t.Context(), doc)
	must(t, err, "insert")
	recs := consume(t, e.brokers, e.topic(), 1, 60*time.Second)
	if string(recs[0].Key) != `{"id":"{\"$numberInt\":\"7\"}"}` {
		t.Errorf("key %s", recs[0].Key)
	}
	var ev bson.Raw
	must(t, bson.UnmarshalExtJSON(recs[0].Value, true, &ev), "value %s", recs[0].Value)
	if op, _ := ev.Lookup("operationType").StringValueOK(); op != "insert" {
		t.Errorf("operationType %q in %s", op, recs[0].Value)
	}
	if coll, _ := ev.Lookup("ns", "coll").StringValueOK(); coll != e.coll {
		t.Errorf("ns.coll %q in %s", coll, recs[0].Value)
	}
	wantBSON, _ := bson.Marshal(doc)
	if full, _ := ev.Lookup("fullDocument").DocumentOK(); !bytes.Equal(full, wantBSON) {
		t.Errorf("fullDocument %s, want %s", full, bson.Raw(wantBSON))
	}
	if f := header(recs[0], format.HeaderFormat); f != "changestream" {
		t.Errorf("format header %q", f)
	}
}

// TestResumeFromStoredToken stops capture, writes while it is down, and
// starts it again from the stored resume token: every change once, in
// order, none lost.
func TestResumeFromStoredToken(t *testing.T) {
	e := newEnv(t)
	c := e.m.Connect(t).Database(e.db).Collection(e.coll)
	ctx := t.Context()
	insert := func(from, to int) {
		for i := from; i < to; i++ {
			_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: int32(i)}, {Key: "v", Value: fmt.Sprint("v", i)}})
			must(t, err, "insert %d", i)
		}
	}
	r := e.run(t, e.sourceConfig(t), DebeziumEncoder{}, startSpec())
	insert(0, 20)
	consume(t, e.brokers, e.topic(), 20, 60*time.Second)
	must(t, r.stop(t), "stopping")
	insert(20, 40)
	e.run(t, e.sourceConfig(t), DebeziumEncoder{}, "") // the stored position
	insert(40, 60)
	checkOnce(t, consume(t, e.brokers, e.topic(), 60, 60*time.Second), 60)
}

// checkOnce checks that recs are inserts of _id 0..n-1, each once, in
// order.
func checkOnce(t *testing.T, recs []*kgoRecord, n int) {
	t.Helper()
	if len(recs) != n {
		t.Errorf("%d records, want %d", len(recs), n)
	}
	seen := map[string]int{}
	for i, r := range recs {
		ch, err := debezium.DecodeMongo(r.Key, r.Value)
		must(t, err, "record %d", i)
		seen[ch.KeyExtJSON]++
		if want := fmt.Sprintf(`{"$numberInt":"%d"}`, i); i < n && ch.KeyExtJSON != want {
			t.Errorf("record %d is _id %s, want %s", i, ch.KeyExtJSON, want)
			break
		}
	}
	for k, v := range seen {
		if v != 1 {
			t.Errorf("_id %s seen %d times", k, v)
		}
	}
}

func header(r *kgoRecord, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
