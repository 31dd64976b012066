package docrow

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// ErrNotDocumentChange is returned by ParseChangeStream for change events
// that change no document (drop, rename, dropDatabase, invalidate, DDL
// events): apply does not replicate DDL.
var ErrNotDocumentChange = errors.New("change event is not a document change")

// ParseChangeStream reads a record of the changestream format: the change
// event itself as canonical Extended JSON, as Mongo capture and the
// official MongoDB Kafka source connector write it. It returns the change
// in the Debezium shape, so both formats take the same path from here.
//
// Updates: a fullDocument without _id is not a full document
// (mongo-java-server without updateLookup puts the $set contents there),
// and an update with neither a full document nor an updateDescription
// (the document was deleted before the lookup) becomes an empty partial
// update, as capture writes it in the Debezium style.
func ParseChangeStream(value []byte) (*debezium.MongoChange, error) {
	var ev bson.Raw
	if err := bson.UnmarshalExtJSON(value, false, &ev); err != nil {
		return nil, fmt.Errorf("changestream: value is not an Extended JSON document: %w", err)
	}
	kind, ok := ev.Lookup("operationType").StringValueOK()
	if !ok {
		return nil, errors.New("changestream: no operationType (is this a change event?)")
	}
	c := &debezium.MongoChange{}
	switch kind {
	case "insert":
		c.Op = event.OpInsert
	case "update", "replace":
		c.Op = event.OpUpdate
	case "delete":
		c.Op = event.OpDelete
	default:
		return nil, fmt.Errorf("%w: operationType %s", ErrNotDocumentChange, kind)
	}
	c.DB, _ = ev.Lookup("ns", "db").StringValueOK()
	c.Collection, _ = ev.Lookup("ns", "coll").StringValueOK()
	if c.DB == "" || c.Collection == "" {
		return nil, fmt.Errorf("changestream: %s event without ns.db and ns.coll", kind)
	}
	if t, _, ok := ev.Lookup("clusterTime").TimestampOK(); ok {
		c.Source.TsMs = int64(t) * 1000
	}
	if d, ok := ev.Lookup("wallTime").DateTimeOK(); ok && c.Source.TsMs == 0 {
		c.Source.TsMs = d
	}
	full, hasFull := ev.Lookup("fullDocument").DocumentOK()
	if hasFull && c.Op == event.OpUpdate {
		if _, err := full.LookupErr(IDColumn); err != nil {
			hasFull = false
		}
	}
	var err error
	if hasFull && c.Op != event.OpDelete {
		if c.After, err = docText(full); err != nil {
			return nil, fmt.Errorf("changestream: fullDocument: %w", err)
		}
	}
	id, err := ev.LookupErr("documentKey", IDColumn)
	if err != nil && hasFull {
		id, err = full.LookupErr(IDColumn)
	}
	if err != nil {
		return nil, fmt.Errorf("changestream: %s event of %s.%s without documentKey._id", kind, c.DB, c.Collection)
	}
	text, err := ValueExtJSON(id, true)
	if err != nil {
		return nil, fmt.Errorf("changestream: documentKey._id: %w", err)
	}
	c.KeyExtJSON = string(text)
	if kind == "update" {
		if ud, ok := ev.Lookup("updateDescription").DocumentOK(); ok {
			if c.Update, err = updateDescription(ud); err != nil {
				return nil, fmt.Errorf("changestream: updateDescription of %s.%s _id %s: %w", c.DB, c.Collection, c.KeyExtJSON, err)
			}
		}
	}
	if c.Op == event.OpUpdate && c.After == "" && c.Update == nil {
		c.Update = &debezium.UpdateDescription{}
	}
	return c, nil
}

func docText(d bson.Raw) (string, error) {
	b, err := bson.MarshalExtJSON(d, true, false)
	return string(b), err
}

func updateDescription(ud bson.Raw) (*debezium.UpdateDescription, error) {
	u := &debezium.UpdateDescription{}
	if set, ok := ud.Lookup("updatedFields").DocumentOK(); ok {
		t, err := docText(set)
		if err != nil {
			return nil, err
		}
		u.UpdatedFields = t
	}
	if arr, ok := ud.Lookup("removedFields").ArrayOK(); ok {
		vals, _ := arr.Values()
		for _, v := range vals {
			s, ok := v.StringValueOK()
			if !ok {
				return nil, errors.New("removedFields holds a non-string")
			}
			u.RemovedFields = append(u.RemovedFields, s)
		}
	}
	if arr, ok := ud.Lookup("truncatedArrays").ArrayOK(); ok {
		vals, _ := arr.Values()
		for _, v := range vals {
			d, ok := v.DocumentOK()
			if !ok {
				return nil, errors.New("truncatedArrays holds a non-document")
			}
			f, _ := d.Lookup("field").StringValueOK()
			n, ok := d.Lookup("newSize").AsInt64OK()
			if f == "" || !ok || n < 0 || n > 1<<32-1 {
				return nil, errors.New("truncatedArrays entry without field or newSize")
			}
			u.TruncatedArrays = append(u.TruncatedArrays, debezium.TruncatedArray{Field: f, NewSize: uint32(n)})
		}
	}
	return u, nil
}
