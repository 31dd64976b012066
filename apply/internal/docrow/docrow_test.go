package docrow

import (
	"errors"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

func names(cols []event.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

func TestFromChange(t *testing.T) {
	full := &debezium.MongoChange{Op: event.OpInsert, DB: "d", Collection: "c", KeyExtJSON: `{"$oid":"65a1b2c3d4e5f60718293a4b"}`,
		After: `{"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"n":{"$numberLong":"7"},"sub":{"a":[1,2]}}`}
	var e event.Event
	if err := FromChange(full, &e); err != nil {
		t.Fatal(err)
	}
	if e.Database != "d" || e.Table != "c" || len(e.Key) != 1 || e.Key[0] != 0 || !IsDoc(e.Columns) {
		t.Fatalf("%+v", e)
	}
	if got := string(e.After[1].B); got != `{"$numberLong":"7"}` {
		t.Fatalf("n = %s", got)
	}
	if got := string(e.After[2].B); got != `{"a":[{"$numberInt":"1"},{"$numberInt":"2"}]}` {
		t.Fatalf("sub = %s", got)
	}

	del := &debezium.MongoChange{Op: event.OpDelete, DB: "d", Collection: "c", KeyExtJSON: `"k"`}
	if err := FromChange(del, &e); err != nil || e.After != nil || string(e.Before[0].B) != `"k"` {
		t.Fatalf("delete: %v %+v", err, e)
	}

	part := &debezium.MongoChange{Op: event.OpUpdate, DB: "d", Collection: "c", KeyExtJSON: `{"$numberInt":"1"}`,
		Update: &debezium.UpdateDescription{UpdatedFields: `{"a.b":"x"}`, RemovedFields: []string{"z"},
			TruncatedArrays: []debezium.TruncatedArray{{Field: "arr", NewSize: 2}}}}
	if err := FromChange(part, &e); err != nil {
		t.Fatal(err)
	}
	if got := names(e.Columns); len(got) != 4 || got[1] != SetColumn || got[2] != UnsetColumn || got[3] != TruncateColumn {
		t.Fatalf("partial columns %v", got)
	}
}

func TestParseChangeStream(t *testing.T) {
	ins := `{"_id":{"_data":"82"},"operationType":"insert","clusterTime":{"$timestamp":{"t":1700000000,"i":3}},` +
		`"ns":{"db":"shop","coll":"orders"},"documentKey":{"_id":{"$numberInt":"5"}},"fullDocument":{"_id":{"$numberInt":"5"},"x":{"$numberDecimal":"1.50"}}}`
	c, err := ParseChangeStream([]byte(ins))
	if err != nil {
		t.Fatal(err)
	}
	if c.Op != event.OpInsert || c.DB != "shop" || c.Collection != "orders" || c.KeyExtJSON != `{"$numberInt":"5"}` || c.Source.TsMs != 1700000000000 {
		t.Fatalf("%+v", c)
	}
	if c.After != `{"_id":{"$numberInt":"5"},"x":{"$numberDecimal":"1.50"}}` {
		t.Fatalf("after %s", c.After)
	}

	// mongo-java-server without updateLookup: fullDocument holds the $set
	// contents and has no _id.
	upd := `{"operationType":"update","ns":{"db":"shop","coll":"orders"},"documentKey":{"_id":"a"},"fullDocument":{"x":1},` +
		`"updateDescription":{"updatedFields":{"x":{"$numberInt":"1"}},"removedFields":["y"],"truncatedArrays":[{"field":"arr","newSize":{"$numberInt":"1"}}]}}`
	if c, err = ParseChangeStream([]byte(upd)); err != nil {
		t.Fatal(err)
	}
	if c.After != "" || c.Update == nil || c.Update.UpdatedFields != `{"x":{"$numberInt":"1"}}` || c.Update.RemovedFields[0] != "y" || c.Update.TruncatedArrays[0].NewSize != 1 {
		t.Fatalf("update %+v %+v", c, c.Update)
	}

	gone := `{"operationType":"update","ns":{"db":"shop","coll":"orders"},"documentKey":{"_id":"a"},"fullDocument":null}`
	if c, err = ParseChangeStream([]byte(gone)); err != nil || c.Update == nil {
		t.Fatalf("gone: %v %+v", err, c)
	}

	if _, err := ParseChangeStream([]byte(`{"operationType":"drop","ns":{"db":"shop","coll":"orders"}}`)); !errors.Is(err, ErrNotDocumentChange) {
		t.Fatalf("drop: %v", err)
	}
	for _, bad := range []string{`[]`, `{"ns":{}}`, `{"operationType":"insert","ns":{"db":"a"}}`, `{"operationType":"delete","ns":{"db":"a","coll":"b"}}`} {
		if _, err := ParseChangeStream([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
