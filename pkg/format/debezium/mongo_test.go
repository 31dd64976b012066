package debezium

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// normalMongo is c as the decoder returns it: an empty updatedFields is
// the empty document and removedFields is never nil.
func normalMongo(c MongoChange) MongoChange {
	if c.Update != nil {
		u := *c.Update
		if u.UpdatedFields == "" {
			u.UpdatedFields = "{}"
		}
		if u.RemovedFields == nil {
			u.RemovedFields = []string{}
		}
		if len(u.TruncatedArrays) == 0 {
			u.TruncatedArrays = nil
		}
		c.Update = &u
	}
	return c
}

func assertMongoSame(t *testing.T, got, want *MongoChange) {
	t.Helper()
	if g, w := normalMongo(*got), normalMongo(*want); !reflect.DeepEqual(g, w) {
		t.Errorf("mongo change:\n got %+v (update %+v)\nwant %+v (update %+v)", g, g.Update, w, w.Update)
	}
}

func TestMongoRoundTripEdges(t *testing.T) {
	base := MongoChange{DB: "d", Collection: "c", KeyExtJSON: `{"$oid":"65a1b2c3d4e5f60718293a4b"}`, EmitTimeMs: 5,
		Source: MongoSource{Version: "v", Name: "n", TsMs: 1000, Ord: 1}}
	changes := []func(c *MongoChange){
		func(c *MongoChange) {
			c.Op, c.After = event.OpInsert, `{"s":"\u2028 \"q\" 😀","n":{"$numberDecimal":"-0.000"}}`
		},
		func(c *MongoChange) { c.Op, c.Update = event.OpUpdate, &UpdateDescription{} },
		func(c *MongoChange) {
			c.Op, c.After = event.OpUpdate, `{"_id":1}`
			c.Update = &UpdateDescription{UpdatedFields: `{"a.b":{"$numberInt":"1"}}`, RemovedFields: []string{"x", "y.z"}, TruncatedArrays: []TruncatedArray{{"arr", 0}, {"b", 4294967295}}}
		},
		func(c *MongoChange) {
			c.Op, c.Before, c.KeyExtJSON = event.OpDelete, `{"_id":{"$numberInt":"1"}}`, `{"$numberInt":"1"}`
		},
		func(c *MongoChange) { c.Op, c.After, c.Source.Snapshot = event.OpSnapshot, `{}`, "incremental" },
		func(c *MongoChange) { c.Op, c.After, c.Source.Snapshot = event.OpInsert, `{}`, "true" },
	}
	for i, change := range changes {
		c := base
		change(&c)
		key, err := AppendMongoKey(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		val, err := AppendMongoValue(nil, &c)
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		got, err := DecodeMongo(key, val)
		if err != nil {
			t.Fatalf("change %d: %v\n%s", i, err, val)
		}
		assertMongoSame(t, got, &c)
	}
}

func TestMongoGenuine(t *testing.T) {
	// The Connect wrapper (schemas.enable=true) and the bare payload read
	// the same.
	c, err := DecodeMongo(readGenuine(t, "keys/mongo-insert.json"), readGenuine(t, "wrapped/mongo-insert.json"))
	if err != nil {
		t.Fatal(err)
	}
	bare, err := DecodeMongo(readGenuine(t, "keys/mongo-insert.json"), readGenuine(t, "mongo-insert.json"))
	if err != nil {
		t.Fatal(err)
	}
	assertMongoSame(t, bare, c)
	if c.Op != event.OpInsert || c.DB != "inventory" || c.Collection != "customers" || c.KeyExtJSON != `{"$numberLong": "1004"}` ||
		!strings.Contains(c.After, `"first_name": "Anne"`) || c.Source.Ord != 31 || c.Source.TsMs != 1558965508000 || c.Source.Snapshot != "" {
		t.Errorf("insert = %+v", c)
	}
	c, err = DecodeMongo(nil, readGenuine(t, "mongo-update.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Op != event.OpUpdate || c.After != "" || c.Update == nil || c.Update.UpdatedFields != `{"first_name": "Anne Marie"}` ||
		len(c.Update.RemovedFields) != 0 || c.Source.TxnNumber == nil || *c.Source.TxnNumber != 1 || !strings.HasPrefix(c.Source.Lsid, `{"id"`) {
		t.Errorf("update = %+v %+v", c, c.Update)
	}
	c, err = DecodeMongo(nil, readGenuine(t, "mongo-delete.json"))
	if err != nil || c.Op != event.OpDelete || c.After != "" || c.Before != "" {
		t.Errorf("delete = %+v, %v", c, err)
	}
}

func TestMongoErrors(t *testing.T) {
	const src = `"source":{"connector":"mongodb","db":"d","collection":"c"}`
	tests := []struct{ key, value, want string }{
		{``, `null`, "tombstone"},
		{``, `{"op":"c"}`, "source: missing db or collection"},
		{``, `{"op":"x",` + src + `}`, `op: at byte 6: "x" is not one of`},
		{``, `{"op":"c","source":{"connector":"mysql","db":"d","collection":"c"},"after":"{}"}`, "read it with Decoder"},
		{``, `{"op":"c",` + src + `}`, "needs after"},
		{``, `{"op":"c",` + src + `,"after":"[1]"}`, "after: at byte 77: \"[1]\" is not an Extended JSON document"},
		{``, `{"op":"c",` + src + `,"after":{}}`, "after: at byte 77: want a string"},
		{``, `{"op":"d",` + src + `,"after":"{}"}`, "a delete has no after"},
		{``, `{"op":"c",` + src + `,"after":"{}","updateDescription":{}}`, "has no updateDescription"},
		{``, `{"op":"u",` + src + `,"updateDescription":{"removedFields":[1]}}`, "updateDescription.removedFields[0]: at byte"},
		{``, `{"op":"u",` + src + `,"updateDescription":{"truncatedArrays":[{"newSize":-1}]}}`, "truncatedArrays[0].newSize"},
		{``, `{"op":"u",` + src + `,"after":"{}","source":{}}`, "duplicate"},
		{`{"id":1}`, `{"op":"d",` + src + `}`, "key.id: at byte 6: want a string"},
		{`{"id":"{"}`, `{"op":"d",` + src + `}`, "not Extended JSON"},
		{`{"_id":"1"}`, `{"op":"d",` + src + `}`, `want {"id"`},
	}
	for _, tt := range tests {
		var key []byte
		if tt.key != "" {
			key = []byte(tt.key)
		}
		_, err := DecodeMongo(key, []byte(tt.value))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecodeMongo(%s, %s)\n = %v\nwant an error containing %q", tt.key, tt.value, err, tt.want)
		}
	}
	bad := []MongoChange{
		{Op: event.OpSnapshotStart, DB: "d", Collection: "c", After: "{}"},
		{Op: event.OpInsert, DB: "d", Collection: "c", After: "[]"},
		{Op: event.OpInsert, DB: "d", Collection: "c"},
		{Op: event.OpInsert, DB: "", Collection: "c", After: "{}"},
		{Op: event.OpUpdate, DB: "d", Collection: "c", Update: &UpdateDescription{UpdatedFields: "1"}},
		{Op: event.OpDelete, DB: "d", Collection: "c", After: "{}"},
	}
	for i, c := range bad {
		if _, err := AppendMongoValue(nil, &c); err == nil {
			t.Errorf("bad change %d encoded", i)
		}
	}
	if _, err := AppendMongoValue(nil, &bad[0]); !errors.Is(err, ErrNotRepresentable) {
		t.Errorf("snapshot marker: %v, want ErrNotRepresentable", err)
	}
	if _, err := AppendMongoKey(nil, &MongoChange{KeyExtJSON: "{"}); err == nil {
		t.Error("a key that is not JSON encoded")
	}
}
