package debezium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// MongoChange is one MongoDB change in the shape of Debezium's MongoDB
// connector. Documents travel as canonical Extended JSON v2 strings, so
// every BSON type (ObjectId, Decimal128, dates, binary subtypes, int32 vs
// int64) survives the trip exactly; the Mongo capture builds these from
// change-stream events.
type MongoChange struct {
	Op         event.Op // insert, update (incl. replace), delete, snapshot
	DB         string
	Collection string
	// KeyExtJSON is the document's _id as canonical Extended JSON, e.g.
	// {"$oid":"5f..."}; it becomes the record key {"id":"<that text>"}.
	KeyExtJSON string
	// After and Before are full documents as canonical Extended JSON ("" =
	// absent: deletes have no After; Before needs pre-images).
	After, Before string
	// Update is set for updates from a change stream.
	Update *UpdateDescription
	Source MongoSource
	// EmitTimeMs is when Sluice produced the event.
	EmitTimeMs int64
}

// UpdateDescription mirrors the change stream's updateDescription.
type UpdateDescription struct {
	// UpdatedFields is an Extended JSON document of the changed fields.
	UpdatedFields   string           `json:"updatedFields"`
	RemovedFields   []string         `json:"removedFields"`
	TruncatedArrays []TruncatedArray `json:"truncatedArrays,omitempty"`
}

// TruncatedArray is one entry of updateDescription.truncatedArrays.
type TruncatedArray struct {
	Field   string `json:"field"`
	NewSize int    `json:"newSize"`
}

// MongoSource is the source block of a Mongo change.
type MongoSource struct {
	Version  string
	Name     string
	TsMs     int64  // cluster time seconds * 1000
	Ord      uint32 // cluster time increment
	Snapshot string // "" = not a snapshot
	// TxnNumber and Lsid identify a multi-document transaction, when any.
	TxnNumber *int64
	Lsid      string
}

type mongoSourceJSON struct {
	Version    string  `json:"version"`
	Connector  string  `json:"connector"`
	Name       string  `json:"name"`
	TsMs       int64   `json:"ts_ms"`
	Snapshot   string  `json:"snapshot"`
	DB         string  `json:"db"`
	Collection string  `json:"collection"`
	Ord        uint32  `json:"ord"`
	Lsid       *string `json:"lsid"`
	TxnNumber  *int64  `json:"txnNumber"`
}

type mongoValueJSON struct {
	Before            *string            `json:"before"`
	After             *string            `json:"after"`
	UpdateDescription *UpdateDescription `json:"updateDescription"`
	Source            mongoSourceJSON    `json:"source"`
	Op                string             `json:"op"`
	TsMs              int64              `json:"ts_ms"`
	Transaction       any                `json:"transaction"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// AppendMongoKey appends {"id":"<_id as canonical Extended JSON>"}.
func AppendMongoKey(dst []byte, c *MongoChange) ([]byte, error) {
	if c.KeyExtJSON == "" || !json.Valid([]byte(c.KeyExtJSON)) {
		return dst, fmt.Errorf("debezium: mongo %s.%s: document key %q is not Extended JSON", c.DB, c.Collection, c.KeyExtJSON)
	}
	b, err := json.Marshal(struct {
		ID string `json:"id"`
	}{c.KeyExtJSON})
	return append(dst, b...), err
}

// AppendMongoValue appends the Debezium MongoDB change event value.
func AppendMongoValue(dst []byte, c *MongoChange) ([]byte, error) {
	if int(c.Op) >= len(opCodes) || opCodes[c.Op] == "" {
		return dst, fmt.Errorf("%w: mongo %s.%s op %v", ErrNotRepresentable, c.DB, c.Collection, c.Op)
	}
	for name, doc := range map[string]string{"after": c.After, "before": c.Before} {
		if doc != "" && !json.Valid([]byte(doc)) {
			return dst, fmt.Errorf("debezium: mongo %s.%s: %s is not valid Extended JSON", c.DB, c.Collection, name)
		}
	}
	if c.Op != event.OpDelete && c.After == "" && c.Update == nil {
		return dst, fmt.Errorf("debezium: mongo %s.%s: op %v needs after or updateDescription", c.DB, c.Collection, c.Op)
	}
	snap := c.Source.Snapshot
	if snap == "" {
		snap = "false"
		if c.Op == event.OpSnapshot {
			snap = "true"
		}
	}
	v := mongoValueJSON{
		Before: optString(c.Before), After: optString(c.After), UpdateDescription: c.Update,
		Source: mongoSourceJSON{Version: c.Source.Version, Connector: "mongodb", Name: c.Source.Name, TsMs: c.Source.TsMs,
			Snapshot: snap, DB: c.DB, Collection: c.Collection, Ord: c.Source.Ord, Lsid: optString(c.Source.Lsid), TxnNumber: c.Source.TxnNumber},
		Op: opCodes[c.Op], TsMs: c.EmitTimeMs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Extended JSON strings stay readable
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

// DecodeMongo reads a Debezium MongoDB value (and its key) back.
func DecodeMongo(key, value []byte) (*MongoChange, error) {
	var v mongoValueJSON
	dec := json.NewDecoder(bytes.NewReader(value))
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("debezium: mongo value: %w", err)
	}
	op, ok := ops[v.Op]
	if !ok {
		return nil, fmt.Errorf("debezium: mongo value: op %q is not one of c, u, d, r", v.Op)
	}
	if v.Source.Connector != "mongodb" {
		return nil, fmt.Errorf("debezium: mongo value: source.connector %q is not mongodb", v.Source.Connector)
	}
	c := &MongoChange{Op: op, DB: v.Source.DB, Collection: v.Source.Collection, Update: v.UpdateDescription, EmitTimeMs: v.TsMs,
		Source: MongoSource{Version: v.Source.Version, Name: v.Source.Name, TsMs: v.Source.TsMs, Ord: v.Source.Ord, TxnNumber: v.Source.TxnNumber}}
	if v.Source.Snapshot != "false" && !(op == event.OpSnapshot && v.Source.Snapshot == "true") {
		c.Source.Snapshot = v.Source.Snapshot
	}
	if v.Source.Lsid != nil {
		c.Source.Lsid = *v.Source.Lsid
	}
	if v.After != nil {
		c.After = *v.After
	}
	if v.Before != nil {
		c.Before = *v.Before
	}
	for name, doc := range map[string]string{"after": c.After, "before": c.Before} {
		if doc != "" && !json.Valid([]byte(doc)) {
			return nil, fmt.Errorf("debezium: mongo value: %s is not valid Extended JSON", name)
		}
	}
	if op != event.OpDelete && c.After == "" && c.Update == nil {
		return nil, fmt.Errorf("debezium: mongo value: op %q without after or updateDescription", v.Op)
	}
	if key != nil {
		var k struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(key, &k); err != nil {
			return nil, fmt.Errorf("debezium: mongo key: %w", err)
		}
		if k.ID == nil || !json.Valid([]byte(*k.ID)) {
			return nil, errors.New(`debezium: mongo key: want {"id":"<_id as Extended JSON>"}`)
		}
		c.KeyExtJSON = *k.ID
	}
	return c, nil
}
