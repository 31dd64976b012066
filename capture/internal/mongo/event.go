package mongo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// change is one change-stream event as the stream loop needs it.
type change struct {
	doc *source.Doc // nil for events that are not document changes
	// kind is the operationType.
	kind string
	// token is the event's resume token (position form) and ct its
	// cluster time.
	token string
	ct    position.ClusterTime
	// txn is "lsid/txnNumber" inside a multi-document transaction.
	txn string
	// keyFallback is set when documentKey was unusable and
	// fullDocument._id was used.
	keyFallback bool
	// unkeyed is an update of a document deleted before the server's
	// lookup, from a server that sends no usable documentKey
	// (mongo-java-server): doc is nil, and the delete event follows.
	unkeyed bool
}

// lookupFoundNone reports an update event whose fullDocument lookup found
// no document: null, or the empty document mongo-java-server sends.
// (Without a lookup mongo-java-server puts the non-empty update
// specification there instead.)
func lookupFoundNone(ev bson.Raw) bool {
	v := ev.Lookup("fullDocument")
	if v.Type == bson.TypeNull {
		return true
	}
	d, ok := v.DocumentOK()
	if !ok {
		return false
	}
	elems, err := d.Elements()
	return err == nil && len(elems) == 0
}

// ns is the namespace a stream is opened on; Coll is "" for database and
// deployment streams, DB too for deployment streams.
type ns struct{ DB, Coll string }

// parseChange reads one event. def fills the namespace when the server
// leaves ns out (mongo-java-server). opts carries the capture's name and
// version for the Debezium source block.
func parseChange(ev bson.Raw, def ns, name, version string) (*change, error) {
	c := &change{}
	c.kind, _ = ev.Lookup("operationType").StringValueOK()
	var err error
	if c.token, err = tokenOf(ev); err != nil {
		return nil, err
	}
	if t, i, ok := ev.Lookup("clusterTime").TimestampOK(); ok {
		c.ct = position.ClusterTime{T: t, I: i}
	}
	var op event.Op
	switch c.kind {
	case "insert":
		op = event.OpInsert
	case "update", "replace":
		op = event.OpUpdate
	case "delete":
		op = event.OpDelete
	default:
		return c, nil // drop, rename, invalidate, DDL: the caller decides
	}
	db, coll := def.DB, def.Coll
	if v, ok := ev.Lookup("ns", "db").StringValueOK(); ok {
		db = v
	}
	if v, ok := ev.Lookup("ns", "coll").StringValueOK(); ok {
		coll = v
	}
	if db == "" || coll == "" {
		return nil, fmt.Errorf("%s event at %s has no ns (database and collection)", c.kind, c.token)
	}
	m := debezium.MongoChange{Op: op, DB: db, Collection: coll, EmitTimeMs: time.Now().UnixMilli(),
		Source: debezium.MongoSource{Version: version, Name: name, TsMs: int64(c.ct.T) * 1000, Ord: c.ct.I}}

	full, hasFull := ev.Lookup("fullDocument").DocumentOK()
	if hasFull && op == event.OpUpdate {
		// Without updateLookup mongo-java-server puts the $set contents
		// here; a document without _id is no full document.
		if _, err := full.LookupErr("_id"); err != nil {
			hasFull = false
		}
	}
	if hasFull && op != event.OpDelete {
		if m.After, err = extJSON(full); err != nil {
			return nil, fmt.Errorf("fullDocument of %s.%s: %w", db, coll, err)
		}
	}
	if before, ok := ev.Lookup("fullDocumentBeforeChange").DocumentOK(); ok {
		if m.Before, err = extJSON(before); err != nil {
			return nil, fmt.Errorf("fullDocumentBeforeChange of %s.%s: %w", db, coll, err)
		}
	}

	id, ok := docKeyID(ev)
	if !ok && hasFull {
		id, err = full.LookupErr("_id")
		ok, c.keyFallback = err == nil, err == nil
	}
	if !ok && c.kind == "update" && lookupFoundNone(ev) && ev.Lookup("updateDescription").Type == 0 {
		// The key can only come from the looked-up document, and the
		// lookup found none: the document was deleted after this update,
		// so its delete event follows and decides the final state.
		c.unkeyed = true
		return c, nil
	}
	if !ok {
		return nil, fmt.Errorf("%s event of %s.%s at %s has no usable documentKey._id and no fullDocument._id: %s", c.kind, db, coll, c.token, truncate(ev.String()))
	}
	if m.KeyExtJSON, err = valueExtJSON(id); err != nil {
		return nil, fmt.Errorf("_id of %s.%s: %w", db, coll, err)
	}

	if op == event.OpUpdate && c.kind == "update" {
		if ud, ok := ev.Lookup("updateDescription").DocumentOK(); ok {
			if m.Update, err = updateDescription(ud); err != nil {
				return nil, fmt.Errorf("updateDescription of %s.%s _id %s: %w", db, coll, m.KeyExtJSON, err)
			}
		}
	}
	if op == event.OpUpdate && m.After == "" && m.Update == nil {
		// The document is gone (deleted before the lookup; its delete
		// follows) and the server sent no updateDescription
		// (mongo-java-server): an update that changes nothing known.
		m.Update = &debezium.UpdateDescription{}
	}
	if lsid, ok := ev.Lookup("lsid").DocumentOK(); ok {
		if m.Source.Lsid, err = extJSON(lsid); err != nil {
			return nil, fmt.Errorf("lsid: %w", err)
		}
		if n, ok := ev.Lookup("txnNumber").AsInt64OK(); ok {
			m.Source.TxnNumber = &n
			c.txn = m.Source.Lsid + "/" + fmt.Sprint(n)
		}
	}
	whole := ev
	if _, err := ev.LookupErr("ns"); err != nil {
		whole, err = withNS(ev, db, coll)
		if err != nil {
			return nil, err
		}
	}
	text, err := extJSON(whole)
	if err != nil {
		return nil, fmt.Errorf("change event of %s.%s: %w", db, coll, err)
	}
	c.doc = &source.Doc{Change: m, Event: text}
	return c, nil
}

// docKeyID returns documentKey._id when documentKey is a real document
// key: it has _id and no $-operator fields (mongo-java-server sends the
// update specification in its place on updates).
func docKeyID(ev bson.Raw) (bson.RawValue, bool) {
	dk, ok := ev.Lookup("documentKey").DocumentOK()
	if !ok {
		return bson.RawValue{}, false
	}
	elems, err := dk.Elements()
	if err != nil {
		return bson.RawValue{}, false
	}
	for _, e := range elems {
		if strings.HasPrefix(e.Key(), "$") {
			return bson.RawValue{}, false
		}
	}
	id, err := dk.LookupErr("_id")
	return id, err == nil
}

func updateDescription(ud bson.Raw) (*debezium.UpdateDescription, error) {
	u := &debezium.UpdateDescription{}
	var err error
	if f, ok := ud.Lookup("updatedFields").DocumentOK(); ok {
		if u.UpdatedFields, err = extJSON(f); err != nil {
			return nil, err
		}
	}
	if arr, ok := ud.Lookup("removedFields").ArrayOK(); ok {
		vals, err := arr.Values()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if s, ok := v.StringValueOK(); ok {
				u.RemovedFields = append(u.RemovedFields, s)
			}
		}
	}
	if arr, ok := ud.Lookup("truncatedArrays").ArrayOK(); ok {
		vals, err := arr.Values()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			d, ok := v.DocumentOK()
			if !ok {
				continue
			}
			f, _ := d.Lookup("field").StringValueOK()
			n, _ := d.Lookup("newSize").AsInt64OK()
			u.TruncatedArrays = append(u.TruncatedArrays, debezium.TruncatedArray{Field: f, NewSize: uint32(n)})
		}
	}
	return u, nil
}

// tokenOf returns the event's resume token in position form: the _data
// hex string, or the whole token as canonical Extended JSON when _data is
// not a string (servers before 4.2).
func tokenOf(ev bson.Raw) (string, error) {
	id, ok := ev.Lookup("_id").DocumentOK()
	if !ok {
		return "", errors.New("change event has no _id (resume token); a user pipeline must not remove or change _id")
	}
	return tokenText(id)
}

func tokenText(tok bson.Raw) (string, error) {
	if s, ok := tok.Lookup("_data").StringValueOK(); ok && s != "" {
		return s, nil
	}
	return extJSON(tok)
}

// tokenDoc is the inverse of tokenText.
func tokenDoc(s string) (bson.Raw, error) {
	if strings.HasPrefix(s, "{") {
		var r bson.Raw
		if err := bson.UnmarshalExtJSON([]byte(s), true, &r); err != nil {
			return nil, fmt.Errorf("resume token %s: %w", s, err)
		}
		return r, nil
	}
	return bson.Marshal(bson.D{{Key: "_data", Value: s}})
}

// extJSON is canonical Extended JSON v2 of a document.
func extJSON(d bson.Raw) (string, error) {
	b, err := bson.MarshalExtJSON(d, true, false)
	return string(b), err
}

// valueExtJSON is canonical Extended JSON v2 of one value.
func valueExtJSON(v bson.RawValue) (string, error) {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, true, false)
	if err != nil {
		return "", err
	}
	s := string(b)
	if !strings.HasPrefix(s, `{"v":`) || !strings.HasSuffix(s, "}") {
		return "", fmt.Errorf("unexpected Extended JSON %s", s)
	}
	return s[len(`{"v":`) : len(s)-1], nil
}

// withNS appends ns to an event that lacks it, so changestream-style
// records always say where they belong.
func withNS(ev bson.Raw, db, coll string) (bson.Raw, error) {
	var d bson.D
	if err := bson.Unmarshal(ev, &d); err != nil {
		return nil, err
	}
	d = append(d, bson.E{Key: "ns", Value: bson.D{{Key: "db", Value: db}, {Key: "coll", Value: coll}}})
	return bson.Marshal(d)
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
