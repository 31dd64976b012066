// Package docrow is the convention by which a MongoDB change travels
// through apply as an event.Event and then a sink.Row, both shaped for
// SQL rows (issue 5):
//
//   - every column has Type Type ("bson"), and its value is Kind JSON
//     holding the field's value as canonical Extended JSON
//     ({"$numberLong":"1"}, {"$oid":"..."}), or Kind Null;
//   - the key is the "_id" column;
//   - a full document (insert, replace, update with the full document,
//     snapshot) is one column per top-level field, in document order;
//   - an update without the full document has the "_id" column and the
//     columns SetColumn (updatedFields: a document of dotted paths),
//     UnsetColumn (removedFields: an array of paths) and TruncateColumn
//     (truncatedArrays: [{"field":...,"newSize":n}]), each when present,
//     and at least SetColumn (an empty document when nothing is known);
//   - a delete has the "_id" column only, in the before-image.
//
// Field names cannot start with "$" in stored documents, so the three
// pseudo-column names never clash with a real field.
//
// apply/internal/decode builds such events from the Debezium-style and
// changestream records of Mongo capture; the mapping step renames and
// routes them like any row; the Mongo sink writes them as documents and
// apply/internal/docsql turns them into SQL rows for the SQL sinks.
package docrow

import (
	"bytes"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Column type and pseudo-column names of the convention.
const (
	Type           = "bson"
	IDColumn       = "_id"
	SetColumn      = "$set"
	UnsetColumn    = "$unset"
	TruncateColumn = "$truncatedArrays"
)

// IsDoc reports whether cols are a document's, by the convention: the
// first column has type Type. (Mapping may append static columns of other
// types after the document's.)
func IsDoc(cols []event.Column) bool { return len(cols) > 0 && cols[0].Type == Type }

// IsPseudo reports whether name is one of the update pseudo-columns.
func IsPseudo(name string) bool { return len(name) > 0 && name[0] == '$' }

func column(name string) event.Column {
	return event.Column{Name: name, Type: Type, Kind: event.JSON}
}

// FromChange fills e from a decoded Mongo change: Database and Table are
// the database and collection, the columns follow the convention above.
// Position, Origin and times are left to the caller.
func FromChange(c *debezium.MongoChange, e *event.Event) error {
	e.Op, e.Database, e.Table = c.Op, c.DB, c.Collection
	e.Columns, e.Key, e.Before, e.After = nil, nil, nil, nil
	e.EmitTimeMs = c.EmitTimeMs
	e.SourceTimeMs = c.Source.TsMs
	idText := c.KeyExtJSON
	if c.Op == event.OpDelete || (c.Op == event.OpUpdate && c.After == "") {
		if idText == "" {
			return errors.New("mongo change without a document key")
		}
		e.Columns = []event.Column{column(IDColumn)}
		vals := []event.Value{event.JSONValue([]byte(idText))}
		e.Key = []int{0}
		if c.Op == event.OpDelete {
			e.Before = vals
			return nil
		}
		if c.Update == nil {
			return errors.New("mongo update without full document or updateDescription")
		}
		e.After = vals
		addPartial(e, c.Update)
		return nil
	}
	var doc bson.D
	if err := bson.UnmarshalExtJSON([]byte(c.After), false, &doc); err != nil {
		return fmt.Errorf("mongo change after: %w", err)
	}
	for _, f := range doc {
		text, err := ValueExtJSON(f.Value, true)
		if err != nil {
			return fmt.Errorf("mongo change after.%s: %w", f.Key, err)
		}
		if f.Key == IDColumn {
			e.Key = []int{len(e.Columns)}
		}
		e.Columns = append(e.Columns, column(f.Key))
		e.After = append(e.After, event.JSONValue(text))
	}
	if e.Key == nil {
		if idText == "" {
			return errors.New("mongo document without _id")
		}
		e.Key = []int{len(e.Columns)}
		e.Columns = append(e.Columns, column(IDColumn))
		e.After = append(e.After, event.JSONValue([]byte(idText)))
	}
	return nil
}

func addPartial(e *event.Event, u *debezium.UpdateDescription) {
	add := func(name string, text []byte) {
		e.Columns = append(e.Columns, column(name))
		e.After = append(e.After, event.JSONValue(text))
	}
	if u.UpdatedFields != "" && u.UpdatedFields != "{}" {
		add(SetColumn, []byte(u.UpdatedFields))
	}
	if len(u.RemovedFields) > 0 {
		a := bson.A{}
		for _, f := range u.RemovedFields {
			a = append(a, f)
		}
		text, _ := ValueExtJSON(a, true)
		add(UnsetColumn, text)
	}
	if len(u.TruncatedArrays) > 0 {
		a := bson.A{}
		for _, t := range u.TruncatedArrays {
			a = append(a, bson.D{{Key: "field", Value: t.Field}, {Key: "newSize", Value: int64(t.NewSize)}})
		}
		text, _ := ValueExtJSON(a, true)
		add(TruncateColumn, text)
	}
	if len(e.Columns) == 1 {
		// An update that changes nothing known (capture writes one when
		// the document was gone at lookup time): still partial, never
		// mistaken for a full document of just the _id.
		add(SetColumn, []byte("{}"))
	}
}

// ValueExtJSON is the Extended JSON of one value, canonical or relaxed.
func ValueExtJSON(v any, canonical bool) ([]byte, error) {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, canonical, false)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte(`{"v":`))
	return bytes.TrimSuffix(b, []byte("}")), nil
}

// ParseValue reads one canonical (or relaxed) Extended JSON value.
func ParseValue(text []byte) (bson.RawValue, error) {
	wrapped := make([]byte, 0, len(text)+6)
	wrapped = append(append(append(wrapped, `{"v":`...), text...), '}')
	var doc bson.Raw
	if err := bson.UnmarshalExtJSON(wrapped, false, &doc); err != nil {
		return bson.RawValue{}, err
	}
	return doc.Lookup("v"), nil
}
