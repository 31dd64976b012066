package debezium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// MongoChange is one MongoDB change in the shape of Debezium's MongoDB
// connector. Documents travel as canonical Extended JSON v2 text, so every
// BSON type (ObjectId, Decimal128, dates, binary subtypes, int32 vs int64)
// survives the trip exactly; the Mongo capture builds these from
// change-stream events, and apply reads them back with DecodeMongo.
//
// The value is {"before","after","updateDescription","source":{"version",
// "connector":"mongodb","name","ts_ms","snapshot","db","collection","ord",
// "lsid","txnNumber"},"op","ts_ms","transaction":null} and the key is
// {"id":"<_id as canonical Extended JSON>"}. Replaces are updates with a
// full After and no Update, as Debezium writes them.
type MongoChange struct {
	Op         event.Op // insert, update (and replace), delete, snapshot
	DB         string
	Collection string
	// KeyExtJSON is the document's _id as canonical Extended JSON, e.g.
	// {"$oid":"65a1b2c3d4e5f60718293a4b"} or "a-string-id".
	KeyExtJSON string
	// After and Before are whole documents as canonical Extended JSON; ""
	// is null (deletes have no After; Before needs pre-images, and updates
	// without fullDocument lookup have no After).
	After, Before string
	// Update is the change stream's updateDescription, for updates.
	Update *UpdateDescription
	Source MongoSource
	// EmitTimeMs is when Sluice produced the record (the envelope ts_ms).
	EmitTimeMs int64
}

// UpdateDescription mirrors the change stream's updateDescription.
type UpdateDescription struct {
	// UpdatedFields is an Extended JSON document of the set fields, dotted
	// paths as names; "" is written as the empty document.
	UpdatedFields   string
	RemovedFields   []string
	TruncatedArrays []TruncatedArray
}

// TruncatedArray is one entry of updateDescription.truncatedArrays.
type TruncatedArray struct {
	Field   string
	NewSize uint32
}

// MongoSource is the source block of a Mongo change. The cluster time of
// the change is TsMs (its seconds, in milliseconds) and Ord (its
// increment), as Debezium splits it.
type MongoSource struct {
	Version  string
	Name     string
	TsMs     int64
	Ord      uint32
	Snapshot string // "" = not a snapshot ("false"; "true" on snapshot reads)
	// Lsid (the session id as Extended JSON) and TxnNumber identify a
	// multi-document transaction; zero outside one.
	Lsid      string
	TxnNumber *int64
}

// AppendMongoKey appends {"id":"<_id as canonical Extended JSON>"}.
func AppendMongoKey(dst []byte, c *MongoChange) ([]byte, error) {
	if c.KeyExtJSON == "" || !json.Valid([]byte(c.KeyExtJSON)) {
		return dst, fmt.Errorf("debezium: encoding mongo %s.%s: document key %q is not Extended JSON", c.DB, c.Collection, truncate(c.KeyExtJSON))
	}
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, c.KeyExtJSON)
	return append(dst, '}'), nil
}

// AppendMongoValue appends the Debezium MongoDB change event value.
func AppendMongoValue(dst []byte, c *MongoChange) ([]byte, error) {
	if err := c.check(); err != nil {
		return dst, fmt.Errorf("debezium: encoding mongo %s.%s: %w", c.DB, c.Collection, err)
	}
	dst = append(dst, `{"before":`...)
	dst = appendDoc(dst, c.Before)
	dst = append(dst, `,"after":`...)
	dst = appendDoc(dst, c.After)
	dst = append(dst, `,"updateDescription":`...)
	if u := c.Update; u == nil {
		dst = jsonw.Null(dst)
	} else {
		dst = append(dst, `{"updatedFields":`...)
		if u.UpdatedFields == "" {
			dst = append(dst, `"{}"`...)
		} else {
			dst = jsonw.String(dst, u.UpdatedFields)
		}
		dst = append(dst, `,"removedFields":[`...)
		for i, f := range u.RemovedFields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonw.String(dst, f)
		}
		dst = append(dst, `],"truncatedArrays":`...)
		if len(u.TruncatedArrays) == 0 {
			dst = jsonw.Null(dst)
		} else {
			dst = append(dst, '[')
			for i, t := range u.TruncatedArrays {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"field":`...)
				dst = jsonw.String(dst, t.Field)
				dst = append(dst, `,"newSize":`...)
				dst = jsonw.Uint(dst, uint64(t.NewSize))
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	s := &c.Source
	dst = append(dst, `,"source":{"version":`...)
	dst = jsonw.String(dst, s.Version)
	dst = append(dst, `,"connector":"mongodb","name":`...)
	dst = jsonw.String(dst, s.Name)
	dst = append(dst, `,"ts_ms":`...)
	dst = jsonw.Int(dst, s.TsMs)
	dst = append(dst, `,"snapshot":`...)
	dst = jsonw.String(dst, mongoSnapshot(c))
	dst = append(dst, `,"db":`...)
	dst = jsonw.String(dst, c.DB)
	dst = append(dst, `,"collection":`...)
	dst = jsonw.String(dst, c.Collection)
	dst = append(dst, `,"ord":`...)
	dst = jsonw.Uint(dst, uint64(s.Ord))
	dst = append(dst, `,"lsid":`...)
	dst = appendDoc(dst, s.Lsid)
	dst = append(dst, `,"txnNumber":`...)
	if s.TxnNumber == nil {
		dst = jsonw.Null(dst)
	} else {
		dst = jsonw.Int(dst, *s.TxnNumber)
	}
	dst = append(dst, `},"op":"`...)
	dst = append(dst, opCode(c.Op)...)
	dst = append(dst, `","ts_ms":`...)
	dst = jsonw.Int(dst, c.EmitTimeMs)
	// Debezium's transaction block needs per-transaction counters the
	// change stream does not give; lsid and txnNumber identify the
	// transaction instead.
	return append(dst, `,"transaction":null}`...), nil
}

// appendDoc writes an Extended JSON text as a JSON string, "" as null.
func appendDoc(dst []byte, doc string) []byte {
	if doc == "" {
		return jsonw.Null(dst)
	}
	return jsonw.String(dst, doc)
}

func mongoSnapshot(c *MongoChange) string {
	switch {
	case c.Source.Snapshot != "":
		return c.Source.Snapshot
	case c.Op == event.OpSnapshot:
		return "true"
	}
	return "false"
}

// check refuses changes a reader could not apply: documents that are not
// JSON objects, and ops without the image they need.
func (c *MongoChange) check() error {
	if opCode(c.Op) == "" {
		return fmt.Errorf("%w: op %v", ErrNotRepresentable, c.Op)
	}
	if c.DB == "" || c.Collection == "" {
		return errors.New("database and collection are required")
	}
	docs := [...]struct{ name, doc string }{{"after", c.After}, {"before", c.Before}, {"source.lsid", c.Source.Lsid}}
	for _, d := range docs {
		if d.doc != "" && !isDocument(d.doc) {
			return fmt.Errorf("%s is not an Extended JSON document: %q", d.name, truncate(d.doc))
		}
	}
	if u := c.Update; u != nil && u.UpdatedFields != "" && !isDocument(u.UpdatedFields) {
		return fmt.Errorf("updateDescription.updatedFields is not an Extended JSON document: %q", truncate(u.UpdatedFields))
	}
	switch {
	case (c.Op == event.OpInsert || c.Op == event.OpSnapshot) && c.After == "":
		return fmt.Errorf("op %v needs after", c.Op)
	case c.Op == event.OpUpdate && c.After == "" && c.Update == nil:
		return errors.New("an update needs after or updateDescription")
	case c.Op == event.OpDelete && (c.After != "" || c.Update != nil):
		return errors.New("a delete has no after and no updateDescription")
	case c.Op != event.OpUpdate && c.Update != nil:
		return fmt.Errorf("op %v has no updateDescription", c.Op)
	}
	return nil
}

// isDocument reports whether s is a JSON object.
func isDocument(s string) bool {
	t := bytes.TrimLeft([]byte(s), " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

func isJSON(s string) bool { return json.Valid([]byte(s)) }
