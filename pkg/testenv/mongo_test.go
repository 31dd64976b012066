package testenv

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMongoFerretDB: the shared FerretDB takes writes and reads them back
// over the wire protocol with the Go driver.
func TestMongoFerretDB(t *testing.T) {
	m := FerretDB(t)
	t.Logf("testenv: %s at %s", m.Kind(), m.URI())
	roundTrip(t, m)
}

// TestMongoJavaServer: the same for mongo-java-server.
func TestMongoJavaServer(t *testing.T) {
	m := MongoJavaServer(t)
	t.Logf("testenv: %s at %s", m.Kind(), m.URI())
	roundTrip(t, m)
}

// TestMongoFerretDBRestart: a FerretDB of the test's own keeps its data
// across kill -9 and restart (SQLite files), on the same URI.
func TestMongoFerretDBRestart(t *testing.T) {
	if ExternalMongoURI() != "" {
		t.Skip("SLUICE_TEST_MONGO_URI is set: the external server is not restarted by tests")
	}
	m := NewFerretDB(t, MongoOptions{})
	c := m.Connect(t).Database(m.CreateDatabase(t)).Collection("c")
	ctx := t.Context()
	if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "kept"}}); err != nil {
		t.Fatal(err)
	}
	m.Kill()
	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var got bson.M
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: 1}}).Decode(&got); err != nil {
		t.Fatalf("after kill -9 and restart: %v\n%s", err, m.LogTail(20))
	}
	if got["v"] != "kept" {
		t.Fatalf("after restart: %v", got)
	}
}

func roundTrip(t *testing.T, m *Mongo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := m.Connect(t).Database(m.CreateDatabase(t)).Collection("c")
	doc := bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: int64(1) << 40}, {Key: "s", Value: "é😀"},
		{Key: "nested", Value: bson.D{{Key: "x", Value: bson.A{int32(1), 2.5, nil}}}}}
	if _, err := c.InsertOne(ctx, doc); err != nil {
		t.Fatal(err)
	}
	var got bson.D
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want, _ := bson.MarshalExtJSON(doc, true, false)
	have, _ := bson.MarshalExtJSON(got, true, false)
	if string(want) != string(have) {
		t.Fatalf("read back %s, wrote %s", have, want)
	}
}
