package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoSide reads one collection in _id order. A document is compared
// whole, as canonical Extended JSON with the fields of every (sub)document
// sorted by name: the same values in another field order are equal.
type mongoSide struct {
	client   *mongo.Client
	coll     *mongo.Collection
	db, name string
}

func openMongo(ctx context.Context, uri, db, coll string) (*mongoSide, error) {
	if db == "" || coll == "" {
		return nil, fmt.Errorf("mongodb: want database.collection, got %q", db+"."+coll)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("mongodb: %w", scrub(err, uri))
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := c.Ping(cctx, nil); err != nil {
		_ = c.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("connecting to mongodb: %w", scrub(err, uri))
	}
	return &mongoSide{client: c, coll: c.Database(db).Collection(coll), db: db, name: coll}, nil
}

func (m *mongoSide) Name() string      { return m.db + "." + m.name }
func (m *mongoSide) Columns() []string { return nil }
func (m *mongoSide) Close() error      { return m.client.Disconnect(context.Background()) }

// bsonBrackets is MongoDB's sort order of BSON types. Comparison
// operators only match values of the same bracket ($gt: 5 never matches a
// string), so paging past the last _id of one type also takes every later
// bracket by $type ("number" covers int, long, double and decimal). MinKey, MaxKey and symbol _ids are left out (FerretDB
// rejects those aliases, and they make no sense as keys); arrays cannot be
// _ids.
var bsonBrackets = [][]string{
	{"null"}, {"number"}, {"string"}, {"object"},
	{"binData"}, {"objectId"}, {"bool"}, {"date"}, {"timestamp"}, {"regex"},
}

func bracketOf(t bson.Type) int {
	alias := map[bson.Type]string{
		bson.TypeNull: "null", bson.TypeInt32: "number", bson.TypeInt64: "number",
		bson.TypeDouble: "number", bson.TypeDecimal128: "number", bson.TypeString: "string",
		bson.TypeEmbeddedDocument: "object", bson.TypeArray: "array", bson.TypeBinary: "binData",
		bson.TypeObjectID: "objectId", bson.TypeBoolean: "bool", bson.TypeDateTime: "date",
		bson.TypeTimestamp: "timestamp", bson.TypeRegex: "regex",
	}[t]
	for i, b := range bsonBrackets {
		if slices.Contains(b, alias) {
			return i
		}
	}
	return -1
}

// idCmp is the filter _id > v (gt) or _id <= v, across type brackets.
func idCmp(v bson.RawValue, gt bool) bson.D {
	op := "$lte"
	if gt {
		op = "$gt"
	}
	same := bson.D{{Key: "_id", Value: bson.D{{Key: op, Value: v}}}}
	b := bracketOf(v.Type)
	if b < 0 {
		return same
	}
	var others []string
	for i, br := range bsonBrackets {
		if (gt && i > b) || (!gt && i < b) {
			others = append(others, br...)
		}
	}
	if len(others) == 0 {
		return same
	}
	return bson.D{{Key: "$or", Value: bson.A{same, bson.D{{Key: "_id", Value: bson.D{{Key: "$type", Value: others}}}}}}}
}

func keyValue(k *Key) bson.RawValue { rv, _ := k.Bind[0].(bson.RawValue); return rv }

// Scan implements Side.
func (m *mongoSide) Scan(ctx context.Context, b Bounds, limit int, fn func(*Row) error) error {
	var and bson.A
	if b.Lo != nil {
		and = append(and, idCmp(keyValue(b.Lo), true))
	}
	if b.After != nil {
		and = append(and, idCmp(keyValue(b.After), true))
	}
	if b.Hi != nil {
		and = append(and, idCmp(keyValue(b.Hi), false))
	}
	filter := bson.D{}
	if len(and) > 0 {
		filter = bson.D{{Key: "$and", Value: and}}
	}
	cur, err := m.coll.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	var r Row
	for cur.Next(ctx) {
		raw := cur.Current
		id, err := raw.LookupErr("_id")
		if err != nil {
			return fmt.Errorf("document without _id: %w", err)
		}
		idText, err := canonicalExtJSON(bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return err
		}
		idText = strings.TrimSuffix(strings.TrimPrefix(idText, `{"_id":`), "}")
		doc, err := canonicalDoc(raw)
		if err != nil {
			return fmt.Errorf("document _id %s: %w", idText, err)
		}
		own := bson.RawValue{Type: id.Type, Value: append([]byte(nil), id.Value...)}
		r.Key = Key{Bind: []any{own}, Canon: []string{idText}, Display: "_id=" + idText, from: m}
		d := newDigest()
		d.add(doc, false)
		r.Sum = d.h
		if err := fn(&r); err != nil {
			return err
		}
	}
	return cur.Err()
}

// canonicalDoc is a document as canonical Extended JSON with the fields of
// every embedded document sorted.
func canonicalDoc(raw bson.Raw) (string, error) {
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return "", err
	}
	return canonicalExtJSON(sortDoc(d))
}

func sortDoc(d bson.D) bson.D {
	out := make(bson.D, len(d))
	for i, e := range d {
		out[i] = bson.E{Key: e.Key, Value: sortValue(e.Value)}
	}
	slices.SortStableFunc(out, func(a, b bson.E) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func sortValue(v any) any {
	switch x := v.(type) {
	case bson.D:
		return sortDoc(x)
	case bson.A:
		out := make(bson.A, len(x))
		for i, e := range x {
			out[i] = sortValue(e)
		}
		return out
	}
	return v
}

func canonicalExtJSON(d bson.D) (string, error) {
	b, err := bson.MarshalExtJSON(d, true, false)
	return string(b), err
}
