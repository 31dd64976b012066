package mongo

import (
	"bytes"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Rows from a Mongo source. sink.Row is shaped for SQL rows, so a Mongo
// change travels in it by this convention (MongoRow builds it):
//
//   - every column has Type BSONType, and its value is Kind JSON holding
//     the field's value as canonical Extended JSON ({"$numberLong":"1"},
//     {"$oid":"..."}), or Kind Null;
//   - Key is the index of the "_id" column;
//   - a full document (insert, replace, update with the full document,
//     snapshot) is one column per top-level field, in document order;
//   - an update without the full document has the "_id" column and the
//     columns SetColumn (updatedFields: a document of dotted paths),
//     UnsetColumn (removedFields: an array of paths) and TruncateColumn
//     (truncatedArrays: [{"field":...,"newSize":n}]), each when present.
//
// Field names cannot start with "$" in stored documents, so the three
// names never clash with a real field.
const (
	BSONType       = "bson"
	SetColumn      = "$set"
	UnsetColumn    = "$unset"
	TruncateColumn = "$truncatedArrays"
)

// MongoRow turns a decoded Debezium-style Mongo change into a Row by the
// convention above. Topic, Partition and Offset are left to the caller.
func MongoRow(c *debezium.MongoChange) (Row, error) {
	r := Row{Op: c.Op, Schema: c.DB, Table: c.Collection}
	idText := c.KeyExtJSON
	switch {
	case c.Op == event.OpDelete || (c.Op == event.OpUpdate && c.After == ""):
		if idText == "" {
			return r, errors.New("mongo change without a document key")
		}
		r.Columns = []event.Column{{Name: "_id", Type: BSONType, Kind: event.JSON}}
		r.Values = []event.Value{event.JSONValue([]byte(idText))}
		r.Key = []int{0}
		if c.Op == event.OpUpdate {
			if c.Update == nil {
				return r, errors.New("mongo update without full document or updateDescription")
			}
			addPartial(&r, c.Update)
		}
		return r, nil
	}
	var doc bson.D
	if err := bson.UnmarshalExtJSON([]byte(c.After), false, &doc); err != nil {
		return r, fmt.Errorf("mongo change after: %w", err)
	}
	for _, e := range doc {
		text, err := valueExtJSON(e.Value)
		if err != nil {
			return r, fmt.Errorf("mongo change after.%s: %w", e.Key, err)
		}
		if e.Key == "_id" {
			r.Key = []int{len(r.Columns)}
		}
		r.Columns = append(r.Columns, event.Column{Name: e.Key, Type: BSONType, Kind: event.JSON})
		r.Values = append(r.Values, event.JSONValue(text))
	}
	if r.Key == nil {
		if idText == "" {
			return r, errors.New("mongo document without _id")
		}
		r.Key = []int{len(r.Columns)}
		r.Columns = append(r.Columns, event.Column{Name: "_id", Type: BSONType, Kind: event.JSON})
		r.Values = append(r.Values, event.JSONValue([]byte(idText)))
	}
	return r, nil
}

func addPartial(r *Row, u *debezium.UpdateDescription) {
	add := func(name string, text []byte) {
		r.Columns = append(r.Columns, event.Column{Name: name, Type: BSONType, Kind: event.JSON})
		r.Values = append(r.Values, event.JSONValue(text))
	}
	if u.UpdatedFields != "" && u.UpdatedFields != "{}" {
		add(SetColumn, []byte(u.UpdatedFields))
	}
	if len(u.RemovedFields) > 0 {
		a := bson.A{}
		for _, f := range u.RemovedFields {
			a = append(a, f)
		}
		text, _ := valueExtJSON(a)
		add(UnsetColumn, text)
	}
	if len(u.TruncatedArrays) > 0 {
		a := bson.A{}
		for _, t := range u.TruncatedArrays {
			a = append(a, bson.D{{Key: "field", Value: t.Field}, {Key: "newSize", Value: int64(t.NewSize)}})
		}
		text, _ := valueExtJSON(a)
		add(TruncateColumn, text)
	}
}

// valueExtJSON is the canonical Extended JSON of one value.
func valueExtJSON(v any) ([]byte, error) {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, true, false)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte(`{"v":`))
	return bytes.TrimSuffix(b, []byte("}")), nil
}

// parseExtJSONValue reads one canonical (or relaxed) Extended JSON value.
func parseExtJSONValue(text []byte) (bson.RawValue, error) {
	wrapped := make([]byte, 0, len(text)+6)
	wrapped = append(append(append(wrapped, `{"v":`...), text...), '}')
	var doc bson.Raw
	if err := bson.UnmarshalExtJSON(wrapped, false, &doc); err != nil {
		return bson.RawValue{}, err
	}
	return doc.Lookup("v"), nil
}

// isMongoRow reports rows by the convention above.
func isMongoRow(r *Row) bool { return len(r.Columns) > 0 && r.Columns[0].Type == BSONType }
