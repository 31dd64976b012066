package mongo

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
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
