package mongo

import (
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// write is one write model and the row it came from (for errors).
type write struct {
	model   mongo.WriteModel
	row     *Row
	id      any // the _id, for errors
	partial bool
}

// phase is one unordered bulk write: no _id appears twice in it, so the
// server's freedom to reorder cannot reorder one document's changes.
type phase struct {
	writes []write
	byID   map[string]int // _id (Extended JSON) -> index in writes
}

// collPlan is the phases of one collection, applied in order.
type collPlan struct {
	db, coll string
	phases   []*phase
}

// plan groups a batch's rows by collection and collapses each document's
// changes: a full replace or a delete supersedes an earlier write of the
// same _id in the current phase (it determines the final state); a partial
// update after a write of the same _id starts a new phase.
func (s *Sink) plan(rows []Row) ([]*collPlan, error) {
	var (
		out   []*collPlan
		index = map[string]*collPlan{}
	)
	get := func(r *Row) *collPlan {
		db := r.Schema
		if db == "" {
			db = s.cfg.Database
		}
		k := db + "\x00" + r.Table
		p := index[k]
		if p == nil {
			p = &collPlan{db: db, coll: r.Table}
			index[k] = p
			out = append(out, p)
		}
		return p
	}
	for i := range rows {
		r := &rows[i]
		p := get(r)
		if r.OldKey != nil {
			old, err := s.keyID(r, r.OldKey)
			if err != nil {
				return nil, err
			}
			p.add(write{model: mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: old}}), row: r, id: old})
		}
		ws, err := s.writesFor(r)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			p.add(w)
		}
	}
	return out, nil
}

func (p *collPlan) add(w write) {
	key := idKey(w.id)
	if len(p.phases) > 0 {
		cur := p.phases[len(p.phases)-1]
		i, seen := cur.byID[key]
		switch {
		case !seen:
			cur.byID[key] = len(cur.writes)
			cur.writes = append(cur.writes, w)
			return
		case !w.partial:
			cur.writes[i] = w // the later full state wins
			return
		}
	}
	p.phases = append(p.phases, &phase{writes: []write{w}, byID: map[string]int{key: 0}})
}

// idKey is a text form of an _id that tells BSON types apart (1 and 1.0
// and "1" are different _ids).
func idKey(id any) string {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "_id", Value: id}}, true, false)
	if err != nil {
		return fmt.Sprintf("%T:%v", id, id)
	}
	return string(b)
}

// writesFor builds the write model(s) of one row.
func (s *Sink) writesFor(r *Row) ([]write, error) {
	id, err := s.keyID(r, nil)
	if err != nil {
		return nil, err
	}
	filter := bson.D{{Key: "_id", Value: id}}
	switch {
	case r.Op == event.OpDelete:
		return []write{{model: mongo.NewDeleteOneModel().SetFilter(filter), row: r, id: id}}, nil
	case r.Op != event.OpInsert && r.Op != event.OpUpdate && r.Op != event.OpSnapshot:
		return nil, &sink.RowError{Row: r, Err: fmt.Errorf("op %v cannot be applied", r.Op)}
	case isMongoRow(r) && isPartial(r):
		return s.partialWrites(r, id, filter)
	}
	doc, err := s.document(r, id)
	if err != nil {
		return nil, err
	}
	m := mongo.NewReplaceOneModel().SetFilter(filter).SetReplacement(doc).SetUpsert(true)
	return []write{{model: m, row: r, id: id}}, nil
}

// keyID returns the _id of a row: its key value (one key column), or a
// document of the key columns; from vals (in Key order) when given.
func (s *Sink) keyID(r *Row, vals []event.Value) (any, error) {
	if len(r.Key) == 0 {
		return nil, &sink.RowError{Row: r, Err: errors.New("row has no key: a MongoDB target needs one for _id")}
	}
	val := func(j int) event.Value {
		if vals != nil {
			return vals[j]
		}
		return r.Values[r.Key[j]]
	}
	if len(r.Key) == 1 {
		return s.fieldValue(r, r.Key[0], val(0))
	}
	d := make(bson.D, len(r.Key))
	for j, c := range r.Key {
		v, err := s.fieldValue(r, c, val(j))
		if err != nil {
			return nil, err
		}
		d[j] = bson.E{Key: r.Columns[c].Name, Value: v}
	}
	return d, nil
}

// fieldValue converts the value of column c.
func (s *Sink) fieldValue(r *Row, c int, v event.Value) (any, error) {
	col := &r.Columns[c]
	if col.Type == BSONType {
		if v.Kind == event.Null {
			return nil, nil
		}
		if v.Kind != event.JSON {
			return nil, &sink.RowError{Row: r, Column: col.Name, Err: fmt.Errorf("bson column holds a %v value, want Extended JSON", v.Kind)}
		}
		rv, err := parseExtJSONValue(v.B)
		if err != nil {
			return nil, &sink.RowError{Row: r, Column: col.Name, Value: truncate(string(v.B)), Err: fmt.Errorf("not Extended JSON: %w", err)}
		}
		return rv, nil
	}
	out, err := s.conv.value(col, v)
	if err != nil {
		return nil, &sink.RowError{Row: r, Column: col.Name, Value: truncate(valueText(v)), Err: err}
	}
	return out, nil
}

// document builds the full document of an upsert: _id first, then every
// column with a value.
func (s *Sink) document(r *Row, id any) (bson.D, error) {
	doc := make(bson.D, 0, len(r.Columns)+1)
	doc = append(doc, bson.E{Key: "_id", Value: id})
	for c := range r.Columns {
		name := r.Columns[c].Name
		if c >= len(r.Values) || r.Values[c].Kind == event.Absent || name == "_id" {
			continue
		}
		v, err := s.fieldValue(r, c, r.Values[c])
		if err != nil {
			return nil, err
		}
		doc = append(doc, bson.E{Key: name, Value: v})
	}
	return doc, nil
}

func isPartial(r *Row) bool {
	for _, c := range r.Columns {
		if strings.HasPrefix(c.Name, "$") {
			return true
		}
	}
	return false
}

// partialWrites turns an update without full document into UpdateOne
// writes (no upsert: a partial change cannot create the document). Arrays
// truncated by the change are cut first ($push with $slice), in a write of
// their own, since one update may not touch a path twice.
func (s *Sink) partialWrites(r *Row, id any, filter bson.D) ([]write, error) {
	var set, unset, trunc bson.D
	var out []write
	for c, col := range r.Columns {
		if !strings.HasPrefix(col.Name, "$") {
			continue
		}
		v, err := s.fieldValue(r, c, r.Values[c])
		if err != nil {
			return nil, err
		}
		rv, _ := v.(bson.RawValue)
		switch col.Name {
		case SetColumn:
			doc, ok := rv.DocumentOK()
			if !ok {
				return nil, &sink.RowError{Row: r, Column: col.Name, Err: errors.New("updatedFields is not a document")}
			}
			elems, _ := doc.Elements()
			for _, e := range elems {
				set = append(set, bson.E{Key: e.Key(), Value: e.Value()})
			}
		case UnsetColumn:
			arr, ok := rv.ArrayOK()
			if !ok {
				return nil, &sink.RowError{Row: r, Column: col.Name, Err: errors.New("removedFields is not an array")}
			}
			vals, _ := arr.Values()
			for _, f := range vals {
				unset = append(unset, bson.E{Key: f.StringValue(), Value: ""})
			}
		case TruncateColumn:
			arr, ok := rv.ArrayOK()
			if !ok {
				return nil, &sink.RowError{Row: r, Column: col.Name, Err: errors.New("truncatedArrays is not an array")}
			}
			vals, _ := arr.Values()
			for _, t := range vals {
				d := t.Document()
				n, _ := d.Lookup("newSize").AsInt64OK()
				trunc = append(trunc, bson.E{Key: d.Lookup("field").StringValue(),
					Value: bson.D{{Key: "$each", Value: bson.A{}}, {Key: "$slice", Value: n}}})
			}
		default:
			return nil, &sink.RowError{Row: r, Column: col.Name, Err: errors.New("unknown update column (want $set, $unset or $truncatedArrays)")}
		}
	}
	if len(trunc) > 0 {
		out = append(out, write{model: mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(bson.D{{Key: "$push", Value: trunc}}),
			row: r, id: id, partial: true})
	}
	var upd bson.D
	if len(set) > 0 {
		upd = append(upd, bson.E{Key: "$set", Value: set})
	}
	if len(unset) > 0 {
		upd = append(upd, bson.E{Key: "$unset", Value: unset})
	}
	if len(upd) > 0 {
		out = append(out, write{model: mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(upd), row: r, id: id, partial: true})
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// valueText is a value as text for error messages.
func valueText(v event.Value) string {
	switch v.Kind {
	case event.Int, event.Year:
		return fmt.Sprint(v.I)
	case event.Uint, event.Bit:
		return fmt.Sprint(v.U)
	case event.Float:
		return fmt.Sprint(v.F)
	case event.Bytes, event.JSON:
		return string(v.B)
	case event.Set:
		return strings.Join(v.Set, ",")
	}
	return v.S
}
