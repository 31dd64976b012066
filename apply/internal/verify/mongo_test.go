package verify

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestMongo compares two collections on FerretDB whose _ids mix numbers,
// strings and ObjectIDs (paging must cross BSON type brackets), with
// small chunks; field order does not count, values do.
func TestMongo(t *testing.T) {
	fm := testenv.FerretDB(t)
	c := fm.Connect(t)
	sdb, tdb := fm.CreateDatabase(t), fm.CreateDatabase(t)
	src, dst := c.Database(sdb).Collection("orders"), c.Database(tdb).Collection("orders")
	oid := bson.NewObjectID()
	var docs, copies []any
	for i := range 12 {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}, {Key: "n", Value: int64(i)}, {Key: "sub", Value: bson.D{{Key: "a", Value: i}, {Key: "b", Value: "x"}}}})
		copies = append(copies, bson.D{{Key: "sub", Value: bson.D{{Key: "b", Value: "x"}, {Key: "a", Value: i}}}, {Key: "n", Value: int64(i)}, {Key: "_id", Value: int32(i)}})
	}
	for _, id := range []any{"a", "b", "c", oid} {
		d := bson.D{{Key: "_id", Value: id}, {Key: "tags", Value: bson.A{"p", "q"}}, {Key: "price", Value: 1.5}}
		docs = append(docs, d)
		copies = append(copies, d)
	}
	ctx := t.Context()
	if _, err := src.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.InsertMany(ctx, copies); err != nil {
		t.Fatal(err)
	}
	sp := Spec{Source: Endpoint{Kind: "mongodb", DSN: fm.URI(), Schema: sdb, Table: "orders"},
		Target: Endpoint{Kind: "mongodb", DSN: fm.URI(), Schema: tdb, Table: "orders"}}
	for _, chunk := range []int{3, 5, 100} {
		r := run(t, sp, Options{Chunk: chunk})
		if !r.Equal() || r.SourceRows != 16 || r.TargetRows != 16 {
			t.Fatalf("chunk %d: equal collections reported different (%d/%d documents)", chunk, r.SourceRows, r.TargetRows)
		}
	}
	if _, err := dst.DeleteOne(ctx, bson.D{{Key: "_id", Value: int32(5)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.DeleteOne(ctx, bson.D{{Key: "_id", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.InsertOne(ctx, bson.D{{Key: "_id", Value: "zz"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.UpdateOne(ctx, bson.D{{Key: "_id", Value: int32(7)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "sub.a", Value: 70}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.UpdateOne(ctx, bson.D{{Key: "_id", Value: oid}}, bson.D{{Key: "$set", Value: bson.D{{Key: "price", Value: int32(2)}}}}); err != nil {
		t.Fatal(err)
	}
	oidText := `_id={"$oid":"` + oid.Hex() + `"}`
	for _, chunk := range []int{3, 5, 100} {
		r := run(t, sp, Options{Chunk: chunk})
		wantDiffs(t, r, []string{`_id="b"`, `_id={"$numberInt":"5"}`}, []string{`_id="zz"`},
			[]string{`_id={"$numberInt":"7"}`, oidText})
	}
}
