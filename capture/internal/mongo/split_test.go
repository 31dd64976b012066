package mongo

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func frag(t *testing.T, tok string, i, of int32, fields ...bson.E) bson.Raw {
	t.Helper()
	d := bson.D{{Key: "_id", Value: bson.D{{Key: "_data", Value: tok}}}, {Key: "splitEvent", Value: bson.D{{Key: "fragment", Value: i}, {Key: "of", Value: of}}}}
	b, err := bson.Marshal(append(d, fields...))
	must(t, err, "marshal")
	return b
}

// TestSplitReassembly reassembles hand-built fragments (as MongoDB 7
// sends them: top-level fields split in order, each fragment with its own
// token) into the whole event, which parses like an unsplit one.
func TestSplitReassembly(t *testing.T) {
	big := strings.Repeat("x", 1000)
	full := bson.D{{Key: "_id", Value: int32(7)}, {Key: "big", Value: big}}
	pre := bson.D{{Key: "_id", Value: int32(7)}, {Key: "big", Value: "old"}}
	var a assembler
	parts := []bson.Raw{
		frag(t, "82AA01", 1, 3, bson.E{Key: "operationType", Value: "replace"}, bson.E{Key: "clusterTime", Value: bson.Timestamp{T: 1700000000, I: 2}},
			bson.E{Key: "ns", Value: bson.D{{Key: "db", Value: "shop"}, {Key: "coll", Value: "orders"}}}, bson.E{Key: "documentKey", Value: bson.D{{Key: "_id", Value: int32(7)}}}),
		frag(t, "82AA02", 2, 3, bson.E{Key: "fullDocument", Value: full}),
		frag(t, "82AA03", 3, 3, bson.E{Key: "fullDocumentBeforeChange", Value: pre}),
	}
	for i, p := range parts[:2] {
		ev, err := a.add(p)
		if err != nil || ev != nil {
			t.Fatalf("fragment %d: got %v, %v; want nothing yet", i+1, ev, err)
		}
		if !a.busy() {
			t.Fatal("not busy between fragments")
		}
	}
	ev, err := a.add(parts[2])
	must(t, err, "last fragment")
	if a.busy() {
		t.Fatal("busy after the last fragment")
	}
	c, err := parseChange(ev, ns{}, "cap", "test")
	must(t, err, "parse")
	if c.token != "82AA03" || c.kind != "replace" || c.doc.Change.KeyExtJSON != `{"$numberInt":"7"}` {
		t.Fatalf("token %s kind %s key %s", c.token, c.kind, c.doc.Change.KeyExtJSON)
	}
	if want := canon(t, full); c.doc.Change.After != want {
		t.Fatalf("after %s, want %s", c.doc.Change.After, want)
	}
	if want := canon(t, pre); c.doc.Change.Before != want {
		t.Fatalf("before %s, want %s", c.doc.Change.Before, want)
	}
	if strings.Contains(c.doc.Event, "splitEvent") {
		t.Fatalf("reassembled event keeps splitEvent: %s", c.doc.Event)
	}

	// An unsplit event passes through.
	plain, _ := bson.Marshal(bson.D{{Key: "_id", Value: bson.D{{Key: "_data", Value: "82BB"}}}, {Key: "operationType", Value: "delete"}})
	if ev, err := a.add(plain); err != nil || string(ev) != string(plain) {
		t.Fatalf("unsplit: %v %v", ev, err)
	}
	// Out-of-order and missing fragments fail loudly.
	for name, seq := range map[string][]bson.Raw{
		"skipped":    {frag(t, "01", 1, 3), frag(t, "03", 3, 3)},
		"no first":   {frag(t, "02", 2, 3)},
		"changed of": {frag(t, "01", 1, 3), frag(t, "02", 2, 2)},
		"interleave": {frag(t, "01", 1, 2), plain},
	} {
		var a assembler
		var err error
		for _, p := range seq {
			if _, err = a.add(p); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSplitRefused: mongo-java-server does not know the stage; the
// capture fails at once, naming the setting.
func TestSplitRefused(t *testing.T) {
	e := newEnv(t)
	if e.m.Real() {
		t.Skip("a real server may support the stage")
	}
	cfg := e.sourceConfig(t)
	cfg.SplitLargeEvents = true
	r := e.run(t, cfg, DebeziumEncoder{}, startSpec())
	select {
	case <-r.ended:
		err := r.err
		if err == nil || !strings.Contains(err.Error(), "split_large_events") {
			t.Fatalf("error %v, want one naming split_large_events", err)
		}
		t.Logf("%v", err)
	case <-time.After(20 * time.Second):
		c := e.m.Connect(t).Database(e.db).Collection(e.coll)
		_, _ = c.InsertOne(t.Context(), bson.D{{Key: "_id", Value: 1}})
		t.Fatal("the server accepted $changeStreamSplitLargeEvent (or ignored it): capture kept running")
	}
}
