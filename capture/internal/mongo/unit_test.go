package mongo

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/position"
)

func TestCheckReportsEveryProblem(t *testing.T) {
	ps := Check(Config{Watch: "cluster", Collections: []string{"nodot"}, FullDocument: "lookup", Pipeline: `[{"$out":"x"}]`})
	var got []string
	for _, p := range ps {
		got = append(got, p.Field)
	}
	for _, want := range []string{"uri", "watch", "collections", "collections[0]", "full_document", "pipeline"} {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+want+" ") {
			t.Errorf("no problem for %s in %v", want, ps)
		}
	}
	if ps := Check(Config{URI: "mongodb://h", Pipeline: `[{"$match":{"ns.coll":{"$regex":"^o"}}},{"$addFields":{"storage":"MAIN"}}]`}); len(ps) != 0 {
		t.Errorf("valid config: %v", ps)
	}
}

func TestParseFromAndStarts(t *testing.T) {
	for _, bad := range []string{"earliest", "gtid:0-1-1", "token:xyz", `{"resume_token":"zz"}`} {
		if err := CheckFrom(bad); err == nil {
			t.Errorf("CheckFrom(%s) accepted", bad)
		}
	}
	pf, err := parseFrom("token:82AB")
	if err != nil || !pf.hand {
		t.Fatal(pf, err)
	}
	st, err := starts(pf, []string{""})
	if err != nil || st[""].token != "82AB" || !st[""].startAfter {
		t.Errorf("token start = %+v, %v", st, err)
	}
	if _, err := starts(pf, []string{"d.a", "d.b"}); err == nil {
		t.Error("one token started two streams")
	}
	pf, _ = parseFrom(`{"cluster_time":{"t":9,"i":1},"streams":{"d.a":{"resume_token":"82AA"}}}`)
	st, err = starts(pf, []string{"d.a", "d.b"})
	if err != nil || st["d.a"].token != "82AA" || st["d.a"].startAfter || st["d.b"].at == nil || st["d.b"].at.T != 9 {
		t.Errorf("streams start = %+v, %v", st, err)
	}
	if _, err := starts(pf, []string{""}); err == nil || !strings.Contains(err.Error(), "watch: collections") {
		t.Errorf("per-stream position on a single stream: %v", err)
	}
	if ct := tokenTime("8265A1B2C3000000012B"); ct.T != 0x65A1B2C3 || ct.I != 1 {
		t.Errorf("tokenTime = %v", ct)
	}
}

// TestParseChangeKeyFallback is mongo-java-server's update event: the
// update specification where documentKey belongs, no updateDescription.
func TestParseChangeKeyFallback(t *testing.T) {
	ev, _ := bson.Marshal(bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: "6b041d7900000008"}}},
		{Key: "operationType", Value: "update"},
		{Key: "fullDocument", Value: bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: int32(2)}}},
		{Key: "documentKey", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: int32(2)}}}}},
		{Key: "clusterTime", Value: bson.Timestamp{T: 5, I: 2}},
	})
	c, err := parseChange(ev, ns{"d", "c"}, "n", "v")
	if err != nil {
		t.Fatal(err)
	}
	m := c.doc.Change
	if !c.keyFallback || m.KeyExtJSON != `{"$numberInt":"1"}` || m.After == "" || m.DB != "d" || m.Source.TsMs != 5000 || m.Source.Ord != 2 {
		t.Errorf("change = %+v (fallback %v)", m, c.keyFallback)
	}
	if !strings.Contains(c.doc.Event, `"ns":{"db":"d","coll":"c"}`) {
		t.Errorf("event without ns: %s", c.doc.Event)
	}
}

// TestParseChangeUnkeyed: mongo-java-server's update event of a document
// deleted before the lookup has neither a key nor a document; it is not
// published (its delete follows). An update specification in fullDocument
// (no lookup) without a key stays an error.
func TestParseChangeUnkeyed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		full    any
		unkeyed bool
	}{
		{"empty lookup", bson.D{}, true},
		{"null lookup", nil, true},
		{"update specification", bson.D{{Key: "a", Value: int32(2)}}, false},
	} {
		ev, _ := bson.Marshal(bson.D{
			{Key: "_id", Value: bson.D{{Key: "_data", Value: "6b041d7900000008"}}},
			{Key: "operationType", Value: "update"},
			{Key: "fullDocument", Value: tc.full},
			{Key: "documentKey", Value: bson.D{{Key: "$inc", Value: bson.D{{Key: "v", Value: int64(1)}}}}},
			{Key: "clusterTime", Value: bson.Timestamp{T: 5, I: 2}},
		})
		c, err := parseChange(ev, ns{"d", "c"}, "n", "v")
		switch {
		case tc.unkeyed && (err != nil || !c.unkeyed || c.doc != nil):
			t.Errorf("%s: %+v, %v; want unkeyed and no document", tc.name, c, err)
		case !tc.unkeyed && (err == nil || !strings.Contains(err.Error(), "no usable documentKey._id")):
			t.Errorf("%s: error %v, want no usable documentKey._id", tc.name, err)
		}
	}
}

// TestWindowTake: a chunk goes out before the first event after its read
// time hw, or when idle after a getMore that began after the hand-over or
// that scanned past hw; without hw, before any next event.
func TestWindowTake(t *testing.T) {
	hw := position.ClusterTime{T: 100, I: 5}
	before, at, past := position.ClusterTime{T: 100, I: 4}, hw, position.ClusterTime{T: 100, I: 6}
	for _, tc := range []struct {
		name  string
		hw    position.ClusterTime
		ct    position.ClusterTime
		idle  bool
		began time.Duration // relative to the hand-over
		emit  bool
	}{
		{"event before hw", hw, before, false, 0, false},
		{"event at hw", hw, at, false, 0, false},
		{"event after hw", hw, past, false, 0, true},
		{"idle, getMore began before, scanned to hw", hw, at, true, -time.Second, false},
		{"idle, getMore began before, scanned past hw", hw, past, true, -time.Second, true},
		{"idle, getMore began before, no token", hw, position.ClusterTime{}, true, -time.Second, false},
		{"idle, getMore began after", hw, position.ClusterTime{}, true, time.Second, true},
		{"no hw, next event", position.ClusterTime{}, before, false, 0, true},
		{"no hw, idle, began before", position.ClusterTime{}, past, true, -time.Second, false},
		{"no hw, idle, began after", position.ClusterTime{}, position.ClusterTime{}, true, time.Second, true},
	} {
		var c snapCoord
		w := c.open("k", "db", "c")
		c.deliver(w, nil, false, "", tc.hw)
		if !c.waiting("k") || c.waiting("other") {
			t.Fatalf("%s: waiting wrong", tc.name)
		}
		got := c.take("k", tc.ct, tc.idle, w.delivered.Add(tc.began)) != nil
		if got != tc.emit {
			t.Errorf("%s: emitted %v, want %v", tc.name, got, tc.emit)
		}
		if c.take("other", past, false, time.Now()) != nil {
			t.Errorf("%s: another stream took the window", tc.name)
		}
	}
}
