package mongo

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// The target is FerretDB (started on first use), or the real MongoDB
// named by SLUICE_TEST_MONGO_URI.
func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is a fresh database on the shared target, a sink writing to it
// and a client to check what the sink wrote.
type fixture struct {
	t  testing.TB
	m  *testenv.Mongo
	db *mongo.Database
	s  *Sink
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	m := testenv.FerretDB(t)
	f := &fixture{t: t, m: m}
	name := m.CreateDatabase(t)
	f.db = m.Connect(t).Database(name)
	cfg := Config{URI: m.URI(), Database: name}
	if !m.Real() {
		cfg.Decimals = DecimalsString // FerretDB has no Decimal128
	}
	if mod != nil {
		mod(&cfg)
	}
	var err error
	if f.s, err = New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	return f
}

// apply applies rows as one batch of topic "t", partition 0, offsets
// numbered from from.
func (f *fixture) apply(from int64, rows ...Row) error {
	f.t.Helper()
	for i := range rows {
		rows[i].Topic, rows[i].Offset = "t", from+int64(i)
	}
	return f.s.Apply(context.Background(), rows, sink.Offset{Group: "g", Topic: "t", From: from, Next: from + int64(len(rows))})
}

func (f *fixture) mustApply(from int64, rows ...Row) {
	f.t.Helper()
	if err := f.apply(from, rows...); err != nil {
		f.t.Fatalf("apply: %v", err)
	}
}

// docs returns the collection's documents as canonical Extended JSON,
// by _id.
func (f *fixture) docs(coll string) []string {
	f.t.Helper()
	cur, err := f.db.Collection(coll).Find(context.Background(), bson.D{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for cur.Next(context.Background()) {
		b, err := bson.MarshalExtJSON(cur.Current, true, false)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	if err := cur.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// Rows of a table "items" (id INT PRIMARY KEY, name VARCHAR, qty INT).
var itemCols = []event.Column{
	{Name: "id", Type: "int(11)", Kind: event.Int},
	{Name: "name", Type: "varchar(20)", Kind: event.String},
	{Name: "qty", Type: "int(11)", Kind: event.Int},
}

func item(op event.Op, id int64, name string, qty int64) Row {
	return Row{Op: op, Table: "items", Columns: itemCols, Key: []int{0},
		Values: []event.Value{event.IntValue(id), event.StringValue(name), event.IntValue(qty)}}
}

func itemDoc(id int, name string, qty int) string {
	b, _ := bson.MarshalExtJSON(bson.D{{Key: "_id", Value: int32(id)}, {Key: "id", Value: int32(id)},
		{Key: "name", Value: name}, {Key: "qty", Value: int32(qty)}}, true, false)
	return string(b)
}
