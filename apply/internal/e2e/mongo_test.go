package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sluice-cdc/sluice/apply/internal/app"
	"github.com/sluice-cdc/sluice/apply/internal/mapping"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// Mongo end to end: the capture binary reads a change stream of the
// change-stream test server (mongo-java-server, or the replica set named by
// SLUICE_TEST_MONGO_URI) into the shared Kafka, and apply writes the
// topic into a MongoDB target (FerretDB) or into MariaDB and PostgreSQL.

// mongoCapture starts the capture binary on db.coll in format, from two
// seconds ago (so writes made right after the start are seen whatever
// time the stream takes to open).
func mongoCapture(t *testing.T, src *testenv.Mongo, brokers []string, dir, prefix, db, coll, format string) *svc {
	t.Helper()
	cfg := mongoCaptureConfig(t, brokers, dir, prefix, db, coll, format, "")
	from := "time:" + time.Now().Add(-2*time.Second).UTC().Format(time.RFC3339)
	return startSvc(t, "capture-"+format, dir, append(os.Environ(), "TEST_MONGO_URI="+src.URI()),
		buildCapture(t), "run", "--config", cfg, "--from", from)
}

// mongoCaptureConfig writes the capture config of mongoCapture, plus extra
// lines.
func mongoCaptureConfig(t *testing.T, brokers []string, dir, prefix, db, coll, format, extra string) string {
	t.Helper()
	return writeFile(t, dir, "capture-"+format+".yaml", fmt.Sprintf(`name: %s
source:
  kind: mongodb
  uri: ${TEST_MONGO_URI}
  watch: collections
  collections: [%q]
  heartbeat: 500ms
format: %s
topics: {prefix: %s}
transactions: {commit_interval: 50ms, timeout: 20s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: info}
%s
`, prefix, db+"."+coll, format, prefix, brokers[0], extra))
}

// mongoApply starts apply (group) from topic into database ddb of dst,
// with extra YAML lines, and waits until it runs.
func mongoApply(t *testing.T, dst *testenv.Mongo, brokers []string, dir, group, topic, ddb, decimals, extra string) *svc {
	t.Helper()
	cfg := writeFile(t, dir, "apply.yaml", fmt.Sprintf(`group: %s
topics: [%q]
target:
  kind: mongodb
  dsn: ${TARGET_DSN}
  database: %s
  decimals: %s
batch: {linger: 20ms}
consumer: {session_timeout: 6s, topic_refresh: 1s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: info}
%s
`, group, topic, ddb, decimals, brokers[0], extra))
	apply := startSvc(t, "apply-mongo", dir, append(os.Environ(), "TARGET_DSN="+dst.URI()), buildApply(t), "run", "--config", cfg)
	apply.waitLog(t, "apply running", 30*time.Second)
	return apply
}

// typedDoc is a document holding every BSON type the target can store;
// decimal adds a Decimal128 (not on FerretDB).
func typedDoc(i int, decimal bool) bson.D {
	d := bson.D{
		{Key: "_id", Value: bson.NewObjectID()},
		{Key: "i32", Value: int32(i)},
		{Key: "i64", Value: int64(1)<<40 + int64(i)},
		{Key: "dbl", Value: 1.5 + float64(i)},
		{Key: "s", Value: fmt.Sprintf("héllo %d", i)},
		{Key: "b", Value: i%2 == 0},
		{Key: "at", Value: bson.NewDateTimeFromTime(time.Date(2024, 2, 29, 12, 30, 45, 123e6, time.UTC))},
		{Key: "oid", Value: bson.ObjectID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, byte(i)}},
		{Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{0, 1, 2, byte(i)}}},
		{Key: "nul", Value: nil},
		{Key: "sub", Value: bson.D{{Key: "a", Value: int64(i)}, {Key: "tags", Value: bson.A{"x", int32(2)}}}},
		{Key: "arr", Value: bson.A{int32(1), "two", bson.D{{Key: "three", Value: 3.0}}}},
	}
	if decimal {
		dec, _ := bson.ParseDecimal128(fmt.Sprintf("12345.%04d", i))
		d = append(d, bson.E{Key: "amount", Value: dec})
	}
	return d
}

// mongoWorkload writes inserts, updates ($set, so the full document comes
// from updateLookup), a replace and a delete to c.
func mongoWorkload(t *testing.T, c *mongo.Collection, decimal bool, extra bson.D) {
	t.Helper()
	ctx := t.Context()
	var ids []any
	for i := range 6 {
		d := typedDoc(i, decimal)
		if _, err := c.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d[0].Value)
	}
	steps := []func() error{
		func() error {
			_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: ids[1]}}, bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: "updated"}, {Key: "i32", Value: int32(-7)}}}})
			return err
		},
		func() error {
			_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: ids[2]}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "sub", Value: ""}}}})
			return err
		},
		func() error {
			r := typedDoc(30, decimal)
			r[0].Value = ids[3]
			_, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: ids[3]}}, r)
			return err
		},
		func() error { _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: ids[4]}}); return err },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	if extra != nil {
		if _, err := c.InsertOne(ctx, extra); err != nil {
			t.Fatal(err)
		}
	}
}

// docsText is every document of c as canonical Extended JSON, by _id.
func docsText(t *testing.T, c *mongo.Collection) []string {
	t.Helper()
	cur, err := c.Find(t.Context(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for cur.Next(t.Context()) {
		b, err := bson.MarshalExtJSON(cur.Current, true, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitSame waits until get returns want (compared as sorted lists).
func waitSame(t *testing.T, what string, timeout time.Duration, want []string, get func() []string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(timeout)
	var got []string
	for time.Now().Before(deadline) {
		got = get()
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not converge within %s:\n got  %s\n want %s", what, timeout, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
}

// TestMongoToMongo: capture (Debezium-style) -> Kafka -> apply binary into
// FerretDB (or the real server), with a collection rename. The target
// equals the source document for document, BSON types included.
func TestMongoToMongo(t *testing.T) {
	src := testenv.MongoJavaServer(t)
	dst := testenv.FerretDB(t)
	brokers := testenv.SharedKafka(t).Brokers()
	dir := t.TempDir()
	sdb, ddb := src.CreateDatabase(t), dst.CreateDatabase(t)
	prefix := "mg-" + testenv.UniqueName(t)
	topic := prefix + "." + sdb + ".docs"
	capture := mongoCapture(t, src, brokers, dir, prefix, sdb, "docs", "debezium")

	decimals := "string"
	if dst.Real() {
		decimals = "decimal128"
	}
	apply := mongoApply(t, dst, brokers, dir, prefix, topic, ddb, decimals, fmt.Sprintf(`mapping:
  rules:
    - source: %s.docs
      target: copy`, sdb))

	source := src.Connect(t).Database(sdb).Collection("docs")
	// Decimal128 only where both servers hold it (not FerretDB).
	mongoWorkload(t, source, dst.Real() && src.Real(), nil)
	// Binary subtypes and a small int64 travel too; NaN, infinities and
	// -0.0 only to a real server (FerretDB refuses infinities, closes the
	// connection on NaN, which apply can only retry, and stores -0.0 as
	// 0.0 even when written directly).
	specials := bson.D{{Key: "_id", Value: "specials"}, {Key: "uuid", Value: bson.Binary{Subtype: 4, Data: []byte("0123456789abcdef")}},
		{Key: "i64small", Value: int64(3)}}
	if dst.Real() {
		specials = append(specials, bson.E{Key: "nan", Value: math.NaN()}, bson.E{Key: "inf", Value: math.Inf(-1)},
			bson.E{Key: "neg0", Value: math.Copysign(0, -1)})
	}
	if _, err := source.InsertOne(t.Context(), specials); err != nil {
		t.Fatal(err)
	}
	want := docsText(t, source)
	target := dst.Connect(t).Database(ddb).Collection("copy")
	waitSame(t, "the target collection", 60*time.Second, want, func() []string { return docsText(t, target) })
	if n := len(want); n != 6 {
		t.Errorf("%d documents, want 6 (5 of the workload after a delete, and specials)", n)
	}

	// Offsets are in sluice_offsets of the target database.
	var off struct {
		Next int64 `bson:"next"`
	}
	if err := dst.Connect(t).Database(ddb).Collection("sluice_offsets").FindOne(t.Context(), bson.D{{Key: "topic", Value: topic}}).Decode(&off); err != nil || off.Next == 0 {
		t.Errorf("stored offset: %+v %v", off, err)
	}
	if err := apply.stop(t); err != nil {
		t.Errorf("apply: %v", err)
	}
	if err := capture.stop(t); err != nil {
		t.Errorf("capture: %v", err)
	}
}

// TestMongoSnapshotToMongo fills a collection before capture starts, so
// its documents reach the target only through the initial snapshot
// (changestream format: copied documents are insert events with a
// copyingData _id), while updates and deletes of random documents run
// during the snapshot: the target ends equal to the source.
func TestMongoSnapshotToMongo(t *testing.T) {
	// FerretDB's SQLite backend scans the collection for each upsert by
	// _id, so the collection stays small.
	const n = 800
	src := testenv.MongoJavaServer(t)
	dst := testenv.FerretDB(t)
	brokers := testenv.SharedKafka(t).Brokers()
	dir := t.TempDir()
	sdb, ddb := src.CreateDatabase(t), dst.CreateDatabase(t)
	prefix := "ms-" + testenv.UniqueName(t)
	topic := prefix + "." + sdb + ".docs"
	source := src.Connect(t).Database(sdb).Collection("docs")
	docs := make([]any, n)
	ids := make([]any, n)
	for i := range n {
		d := typedDoc(i, false)
		docs[i], ids[i] = d, d[0].Value
	}
	if _, err := source.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	// No stored position and no --from: the initial snapshot copies them.
	ccfg := mongoCaptureConfig(t, brokers, dir, prefix, sdb, "docs", "changestream", "snapshot: {mode: initial, chunk_size: 100}")
	capture := startSvc(t, "capture", dir, append(os.Environ(), "TEST_MONGO_URI="+src.URI()), buildCapture(t), "run", "--config", ccfg)
	capture.waitLog(t, "initial snapshot", 30*time.Second)

	apply := mongoApply(t, dst, brokers, dir, prefix, topic, ddb, "string", "")

	// Changes while the snapshot copies the collection.
	ctx := t.Context()
	for k := range 100 {
		id := ids[rand.N(n)]
		var err error
		if k%6 == 0 {
			_, err = source.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		} else {
			_, err = source.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: fmt.Sprintf("changed %d", k)}, {Key: "i32", Value: int32(k)}}}})
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	want := docsText(t, source)
	target := dst.Connect(t).Database(ddb).Collection("docs")
	waitSame(t, "the target collection", 90*time.Second, want, func() []string { return docsText(t, target) })
	t.Logf("target equals source: %d documents (%d before capture started, reachable only through the snapshot; 100 changes during it)", len(want), n)
	if err := apply.stop(t); err != nil {
		t.Errorf("apply: %v", err)
	}
	if err := capture.stop(t); err != nil {
		t.Errorf("capture: %v", err)
	}
}

// sqlRow is a document as the SQL targets should hold it, in the column
// order of mongoSQLSelect; boolText renders the engine's booleans.
func sqlRow(t *testing.T, d bson.Raw, boolText func(bool) string) string {
	t.Helper()
	str := func(name string) string {
		v, err := d.LookupErr(name)
		if err != nil || v.Type == bson.TypeNull {
			return "NULL"
		}
		switch v.Type {
		case bson.TypeInt32:
			return fmt.Sprint(v.Int32())
		case bson.TypeInt64:
			return fmt.Sprint(v.Int64())
		case bson.TypeDouble:
			return fmt.Sprint(v.Double())
		case bson.TypeDecimal128:
			return v.Decimal128().String()
		case bson.TypeString:
			return v.StringValue()
		case bson.TypeBoolean:
			return boolText(v.Boolean())
		case bson.TypeDateTime:
			return time.UnixMilli(v.DateTime()).UTC().Format("2006-01-02 15:04:05.000000")
		case bson.TypeObjectID:
			return v.ObjectID().Hex()
		case bson.TypeBinary:
			_, b := v.Binary()
			return strings.ToUpper(fmt.Sprintf("%x", b))
		case bson.TypeEmbeddedDocument, bson.TypeArray:
			b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
			if err != nil {
				t.Fatal(err)
			}
			return normJSON(t, string(b[5:len(b)-1]))
		}
		t.Fatalf("field %s: unexpected type %s", name, v.Type)
		return ""
	}
	var cols []string
	for _, f := range []string{"_id", "i32", "i64", "dbl", "amount", "s", "b", "at", "oid", "bin", "nul", "sub", "arr"} {
		cols = append(cols, str(f))
	}
	return strings.Join(cols, "|")
}

func normJSON(t *testing.T, s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sqlRows reads the target table in the column order of sqlRow.
func sqlRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	var out []string
	for _, vals := range testenv.QueryRows(t, db, q) {
		var cols []string
		for i, v := range vals {
			switch {
			case !v.Valid:
				cols = append(cols, "NULL")
			case i >= 11:
				cols = append(cols, normJSON(t, v.String))
			default:
				cols = append(cols, v.String)
			}
		}
		out = append(out, strings.Join(cols, "|"))
	}
	return out
}

// TestMongoToSQL: capture (changestream format) -> Kafka -> apply into
// MariaDB (key column renamed to id; unmapped_fields: error) and
// PostgreSQL (key column _id; unmapped_fields: ignore). Every BSON type of
// the list lands in its column; the document with an unknown field stops
// the MariaDB partition with that field named and is counted and applied
// without it in PostgreSQL.
func TestMongoToSQL(t *testing.T) {
	e := newEnv(t)
	src := testenv.MongoJavaServer(t)
	dir := t.TempDir()
	sdb := src.CreateDatabase(t)
	topic := e.prefix + "." + sdb + ".docs"
	capture := mongoCapture(t, src, e.brokers, dir, e.prefix, sdb, "docs", "changestream")

	e.exec(e.mconn, "CREATE TABLE docs (id CHAR(24) PRIMARY KEY, i32 INT, i64 BIGINT, dbl DOUBLE, amount DECIMAL(20,4), s VARCHAR(100),"+
		" b BOOLEAN, at DATETIME(3), oid CHAR(24), bin VARBINARY(16), nul INT, sub JSON, arr JSON)")
	e.exec(e.pconn, `CREATE TABLE docs ("_id" text PRIMARY KEY, i32 int, i64 bigint, dbl double precision, amount numeric(20,4), s text,`+
		` b boolean, at timestamptz(3), oid text, bin bytea, nul int, sub jsonb, arr jsonb)`)

	mc := e.applyConfig("mysql", e.prefix+"-maria", topic)
	mc.Consumer.TopicRefresh = time.Second
	mc.Mapping.Rules = []mapping.Rule{{Source: sdb + ".docs", Rename: map[string]string{"_id": "id"}}}
	maria := e.runApply(mc)
	pc := e.applyConfig("postgres", e.prefix+"-pg", topic)
	pc.Consumer.TopicRefresh = time.Second
	pc.Mapping.Documents.UnmappedFields = mapping.UnmappedIgnore
	pg := e.runApply(pc)

	source := src.Connect(t).Database(sdb).Collection("docs")
	extra := typedDoc(40, true)
	extra = append(extra, bson.E{Key: "nope", Value: "no column"})
	mongoWorkload(t, source, true, extra)

	cur, err := source.Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var wantMaria, wantPG []string
	for cur.Next(t.Context()) {
		d := cur.Current
		pgRow := sqlRow(t, d, func(b bool) string { return fmt.Sprint(b) })
		wantPG = append(wantPG, pgRow)
		if _, err := d.LookupErr("nope"); err != nil {
			wantMaria = append(wantMaria, sqlRow(t, d, func(b bool) string {
				if b {
					return "1"
				}
				return "0"
			}))
		}
	}
	if len(wantPG) != 6 || len(wantMaria) != 5 {
		t.Fatalf("source has %d documents", len(wantPG))
	}
	waitSame(t, "PostgreSQL", 60*time.Second, wantPG, func() []string {
		return sqlRows(t, e.pconn, `SELECT "_id", i32::text, i64::text, dbl::text, amount::text, s, b::text,`+
			` to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), oid, upper(encode(bin, 'hex')), nul::text, sub::text, arr::text FROM docs`)
	})
	waitSame(t, "MariaDB", 60*time.Second, wantMaria, func() []string {
		return sqlRows(t, e.mconn, "SELECT id, i32, i64, dbl, amount, s, b, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), oid, HEX(bin), nul, sub, arr FROM docs")
	})

	if n := metric(t, pg.metrics, "sluice_apply_unmapped_fields_total", `field="nope"`); n < 1 {
		t.Errorf("PostgreSQL: unmapped field counted %v times", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, maria.metrics, "sluice_apply_partition_stopped") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("MariaDB: the partition did not stop at the document with an unmapped field")
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + maria.metrics + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"nope"`) || !strings.Contains(string(body), "unmapped_fields") {
		t.Errorf("MariaDB readiness does not name the field:\n%s", body)
	}
	if err := capture.stop(t); err != nil {
		t.Errorf("capture: %v", err)
	}
}

// expectedDoc is a fixture row as the documented SQL-to-BSON mapping of
// the Mongo sink writes it with decimals: string and sub_millis: string
// (what FerretDB can hold; DECIMAL(65,30) exceeds Decimal128 anyway):
// _id is the key, every column is also a field.
func expectedDoc(t *testing.T, vals []event.Value) bson.D {
	t.Helper()
	d := bson.D{}
	for i, c := range eventtest.Columns {
		v := vals[i]
		var out any
		switch v.Kind {
		case event.Null:
			out = nil
		case event.Int, event.Uint, event.Year:
			n := v.I
			if v.Kind == event.Uint {
				n = int64(v.U)
			}
			if strings.HasPrefix(c.Type, "bigint") || n > math.MaxInt32 || n < math.MinInt32 {
				out = n
			} else {
				out = int32(n)
			}
		case event.Bit:
			out = int64(v.U)
		case event.Float:
			out = v.F
		case event.Decimal, event.String, event.Enum, event.Time:
			out = v.S
		case event.Bytes:
			out = bson.Binary{Data: v.B}
		case event.Set:
			a := bson.A{}
			for _, m := range v.Set {
				a = append(a, m)
			}
			out = a
		case event.JSON:
			if err := bson.UnmarshalExtJSON(v.B, false, &out); err != nil {
				var doc bson.D
				_ = bson.UnmarshalExtJSON(v.B, false, &doc)
				out = doc
			}
		case event.Date, event.DateTime, event.Timestamp:
			if strings.HasPrefix(v.S, "0000") {
				out = v.S
				break
			}
			layout := "2006-01-02"
			if len(v.S) > 10 {
				layout = "2006-01-02 15:04:05.999999"
			}
			tm, err := time.Parse(layout, v.S)
			if err != nil {
				t.Fatal(err)
			}
			out = bson.NewDateTimeFromTime(tm)
		default:
			t.Fatalf("column %s: kind %v not in the expectation", c.Name, v.Kind)
		}
		if i == 0 {
			d = append(d, bson.E{Key: "_id", Value: out})
		}
		d = append(d, bson.E{Key: c.Name, Value: out})
	}
	return d
}

// TestMySQLToMongo: the all-types fixture, produced as capture publishes
// it (twice, as after a redelivery), applied into FerretDB (or the real
// server): the final rows 1, 4 and 5 as documents of the documented BSON
// types.
func TestMySQLToMongo(t *testing.T) {
	for _, enc := range []format.Encoder{&maxwell.Encoder{}, &debezium.Encoder{}} {
		t.Run(enc.Name(), func(t *testing.T) {
			dst := testenv.FerretDB(t)
			brokers := testenv.SharedKafka(t).Brokers()
			cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			topic := "mx-" + testenv.UniqueName(t) + ".shop.all_types"
			if _, err := kadm.NewClient(cl).CreateTopic(t.Context(), 1, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := cl.ProduceSync(t.Context(), records(t, topic, enc, eventtest.Events())...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			ddb := dst.CreateDatabase(t)
			var c app.Config
			c.SetDefaults()
			c.Group, c.Topics = "to-mongo", []string{topic}
			c.Target = app.Target{Kind: "mongodb", DSN: config.Secret(dst.URI()), Database: ddb, Decimals: "string", SubMillis: "string"}
			c.Kafka.Brokers, c.HTTP.Listen = brokers, "127.0.0.1:0"
			c.Batch.Linger, c.Consumer.SessionTimeout = 20*time.Millisecond, 6*time.Second
			e := &env{t: t}
			e.runApply(&c)

			updated := eventtest.Row(eventtest.RowMin)
			for i, col := range eventtest.Columns {
				switch col.Name {
				case "c_int":
					updated[i] = event.IntValue(42)
				case "c_varchar":
					updated[i] = event.StringValue("b")
				}
			}
			moved := eventtest.Row(eventtest.RowNulls)
			moved[0] = event.UintValue(5)
			var want []string
			for _, vals := range [][]event.Value{updated, eventtest.Row(eventtest.RowZero), moved} {
				b, err := bson.MarshalExtJSON(expectedDoc(t, vals), true, false)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, string(b))
			}
			coll := dst.Connect(t).Database(ddb).Collection("all_types")
			waitSame(t, "the target collection", 60*time.Second, want, func() []string { return docsText(t, coll) })
		})
	}
}
