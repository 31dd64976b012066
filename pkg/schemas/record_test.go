package schemas

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rec is a golden record opened up for editing.
type rec struct {
	format     string
	key, value map[string]any // value nil: tombstone
	headers    map[string]string
	// rawValue, when set, replaces the encoded value (for byte-level faults).
	rawValue []byte
	noKey    bool
}

// goldenRec reads line n (1-based) of a golden file under pkg/format.
func goldenRec(t *testing.T, rel string, n int) *rec {
	t.Helper()
	fh, err := os.Open(filepath.Join(formatDir, rel))
	if err != nil {
		t.Fatalf("golden file pkg/format/%s: %v", rel, err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 16<<20)
	for i := 1; sc.Scan(); i++ {
		if i != n {
			continue
		}
		var g struct {
			Key, Value map[string]any
			Headers    map[string]string
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&g); err != nil {
			t.Fatal(err)
		}
		return &rec{format: g.Headers["sluice.format"], key: g.Key, value: g.Value, headers: g.Headers}
	}
	t.Fatalf("pkg/format/%s has no line %d", rel, n)
	return nil
}

func (r *rec) validate(s *Set) error {
	var key, value []byte
	if !r.noKey {
		key, _ = json.Marshal(r.key)
	}
	if r.value != nil {
		value, _ = json.Marshal(r.value)
	}
	if r.rawValue != nil {
		value = r.rawValue
	}
	return s.ValidateRecord(r.format, key, value, r.headers)
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func num(s string) json.Number { return json.Number(s) }

const (
	mxGolden    = "maxwell/testdata/golden/alltypes.jsonl"
	dbzGolden   = "debezium/testdata/golden/alltypes.jsonl"
	mongoGolden = "debezium/testdata/golden/mongo.jsonl"
)

// TestValidateRecordRefuses breaks golden records the ways an encoder or a
// publisher could, one fault each, and wants each refused with an error
// that names the fault. The unbroken records pass (TestGoldenFiles), so
// each failure here is the fault's.
func TestValidateRecordRefuses(t *testing.T) {
	s := load(t)
	cases := []struct {
		name, file string
		line       int
		brk        func(r *rec)
		want       string
	}{
		// Maxwell: values against sluice.types.
		{"maxwell decimal as string", mxGolden, 1, func(r *rec) { obj(r.value, "data")["c_dec20"] = "-0.000001" }, "data.c_dec20"},
		{"maxwell datetime with T", mxGolden, 1, func(r *rec) { obj(r.value, "data")["c_dt0"] = "1000-01-01T00:00:00" }, "data.c_dt0"},
		{"maxwell set as string", mxGolden, 1, func(r *rec) { obj(r.value, "data")["c_set"] = "a,b" }, "data.c_set"},
		{"maxwell blob not base64", mxGolden, 1, func(r *rec) { obj(r.value, "data")["c_blob"] = "AA=" }, "data.c_blob"},
		{"maxwell unsigned negative", mxGolden, 1, func(r *rec) { obj(r.value, "data")["c_bigint_u"] = num("-1") }, "data.c_bigint_u"},
		{"maxwell bigint overflow", mxGolden, 2, func(r *rec) { obj(r.value, "data")["c_bigint"] = num("9223372036854775808") }, "data.c_bigint"},
		{"maxwell old value mistyped", mxGolden, 5, func(r *rec) { obj(r.value, "old")["c_int"] = "-2147483648" }, "old.c_int"},
		{"maxwell column missing", mxGolden, 1, func(r *rec) { delete(obj(r.value, "data"), "c_text") }, `lacks column "c_text"`},
		{"maxwell column not typed", mxGolden, 1, func(r *rec) { obj(r.value, "data")["c_extra"] = num("1") }, `column "c_extra"`},
		// Maxwell: key against row, header rules, profile.
		{"maxwell key value", mxGolden, 1, func(r *rec) { r.key["pk.id"] = num("99") }, "pk.id"},
		{"maxwell key table", mxGolden, 1, func(r *rec) { r.key["table"] = "other" }, "key: table"},
		{"maxwell key uuid on keyed table", mxGolden, 1, func(r *rec) {
			delete(r.key, "pk.id")
			r.key["_uuid"] = "0f8fad5b-d9cb-469f-a165-70867728950e"
		}, "_uuid"},
		{"maxwell primary_key", mxGolden, 1, func(r *rec) { r.value["primary_key"] = []any{num("2")} }, "primary_key[0]"},
		{"maxwell ts in ms", mxGolden, 1, func(r *rec) { r.value["ts"] = num("1700000000000") }, "/ts"},
		{"maxwell genuine-only field", mxGolden, 1, func(r *rec) { r.value["schema_id"] = num("3") }, "schema_id"},
		{"maxwell without xid", mxGolden, 1, func(r *rec) { delete(r.value, "xid") }, "xid"},
		{"maxwell tombstone", mxGolden, 1, func(r *rec) { r.value = nil }, "no tombstones"},
		{"maxwell no key", mxGolden, 1, func(r *rec) { r.noKey = true }, "key: missing"},
		{"maxwell duplicate name", mxGolden, 4, func(r *rec) {
			b, _ := json.Marshal(r.value)
			r.rawValue = append(b[:len(b)-1], `,"ts":1}`...)
		}, "duplicate"},
		{"maxwell invalid UTF-8", mxGolden, 4, func(r *rec) {
			b, _ := json.Marshal(r.value)
			r.rawValue = bytes.Replace(b, []byte(`"table":"all_types"`), []byte("\"table\":\"all_\xfftypes\""), 1)
		}, "UTF-8"},
		{"maxwell types header missing", mxGolden, 1, func(r *rec) { delete(r.headers, "sluice.types") }, "sluice.types"},
		{"maxwell types header empty type", mxGolden, 1, func(r *rec) { r.headers["sluice.types"] = `{"id":""}` }, "header sluice.types"},
		{"maxwell position broken", mxGolden, 1, func(r *rec) { r.headers["sluice.position"] = `{"gtid":` }, "sluice.position"},
		{"maxwell position unknown field", mxGolden, 1, func(r *rec) { r.headers["sluice.position"] = `{"gtid":"0-1-10","offset":1}` }, "header sluice.position"},
		{"maxwell position is mongo", mxGolden, 1, func(r *rec) { r.headers["sluice.position"] = `{"resume_token":"82"}` }, "MongoDB position"},
		{"maxwell position duplicate name", mxGolden, 1, func(r *rec) { r.headers["sluice.position"] = `{"gtid":"0-1-10","gtid":"0-1-9"}` }, "duplicate"},
		{"maxwell types header bad UTF-8", mxGolden, 1, func(r *rec) { r.headers["sluice.types"] = "{\"id\":\"int\xff\"}" }, "UTF-8"},
		{"maxwell header typo", mxGolden, 1, func(r *rec) { r.headers["sluice.orgin"] = "x" }, "sluice.orgin"},
		{"maxwell format mismatch", mxGolden, 1, func(r *rec) { r.format = "debezium" }, `expected "debezium"`},
		{"maxwell format unknown", mxGolden, 1, func(r *rec) { r.format, r.headers["sluice.format"] = "", "changestream" }, "changestream"},
		// Debezium rows.
		{"debezium decimal as number", dbzGolden, 1, func(r *rec) { obj(r.value, "after")["c_dec20"] = num("-0.000001") }, "after.c_dec20"},
		{"debezium timestamp without Z", dbzGolden, 1, func(r *rec) { obj(r.value, "after")["c_ts6"] = "1970-01-01T00:00:01.000000" }, "after.c_ts6"},
		{"debezium bit(1) as integer", dbzGolden, 1, func(r *rec) { obj(r.value, "after")["c_bit1"] = num("0") }, "after.c_bit1"},
		{"debezium json not json", dbzGolden, 1, func(r *rec) { obj(r.value, "after")["c_json"] = "{" }, "after.c_json"},
		{"debezium json embedded", dbzGolden, 1, func(r *rec) { obj(r.value, "after")["c_json"] = map[string]any{} }, "c_json"},
		{"debezium before mistyped", dbzGolden, 5, func(r *rec) { obj(r.value, "before")["c_date"] = "1000-1-1" }, "before.c_date"},
		{"debezium key value", dbzGolden, 1, func(r *rec) { r.key["id"] = num("7") }, "key: id"},
		{"debezium key column not typed", dbzGolden, 1, func(r *rec) { r.key["nope"] = num("1") }, `"nope"`},
		{"debezium delete key from before", dbzGolden, 6, func(r *rec) { r.key["id"] = num("1") }, "key: id"},
		{"debezium tombstone key not typed", dbzGolden, 7, func(r *rec) { r.key = map[string]any{"nope": num("2")} }, `"nope"`},
		{"debezium read in binlog", dbzGolden, 1, func(r *rec) { r.value["op"] = "r" }, "snapshot"},
		{"debezium no transaction", dbzGolden, 1, func(r *rec) { delete(r.value, "transaction") }, "transaction"},
		{"debezium source field missing", dbzGolden, 1, func(r *rec) { delete(obj(r.value, "source"), "thread") }, "thread"},
		{"debezium types header missing", dbzGolden, 1, func(r *rec) { delete(r.headers, "sluice.types") }, "sluice.types missing"},
		{"debezium mongo position", dbzGolden, 7, func(r *rec) { r.headers["sluice.position"] = `{"resume_token":"82"}` }, "types"},
		// Debezium MongoDB.
		{"mongo bare number", mongoGolden, 1, func(r *rec) { r.value["after"] = `{"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"n":42}` }, "bare number"},
		{"mongo relaxed date", mongoGolden, 1, func(r *rec) {
			r.value["after"] = `{"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"at":{"$date":"2023-11-14T22:13:20Z"}}`
		}, "$date"},
		{"mongo _id differs from key", mongoGolden, 3, func(r *rec) { r.key["id"] = `{"$numberLong":"13"}` }, "_id"},
		{"mongo _id type differs from key", mongoGolden, 3, func(r *rec) { r.key["id"] = `{"$numberInt":"12"}` }, "_id"},
		{"mongo updatedFields relaxed", mongoGolden, 2, func(r *rec) { obj(r.value, "updateDescription")["updatedFields"] = `{"n32":43}` }, "updatedFields"},
		{"mongo key not json", mongoGolden, 1, func(r *rec) { r.key["id"] = `{"$oid":` }, "/id"},
		{"mongo key bare number", mongoGolden, 1, func(r *rec) { r.key["id"] = `12` }, "bare number"},
		{"mongo with types header", mongoGolden, 1, func(r *rec) { r.headers["sluice.types"] = `{"_id":"objectid"}` }, "sluice.types on a MongoDB record"},
		{"mongo with mysql position", mongoGolden, 1, func(r *rec) { r.headers["sluice.position"] = `{"gtid":"0-1-1"}` }, "MySQL position"},
		{"mongo insert without after", mongoGolden, 1, func(r *rec) { r.value["after"] = nil }, "/after"},
		{"mongo source field missing", mongoGolden, 1, func(r *rec) { delete(obj(r.value, "source"), "ord") }, "ord"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := goldenRec(t, tc.file, tc.line)
			if err := r.validate(s); err != nil {
				t.Fatalf("unbroken record refused: %v", err)
			}
			r = goldenRec(t, tc.file, tc.line)
			tc.brk(r)
			err := r.validate(s)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not name %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestTombstoneKinds: a null value is taken for a MongoDB record exactly
// when its position header is a MongoDB one.
func TestTombstoneKinds(t *testing.T) {
	s := load(t)
	row := goldenRec(t, dbzGolden, 7)
	key, _ := json.Marshal(row.key)
	if kind, err := s.CheckRecord("debezium", key, nil, row.headers); err != nil || kind != KindDebezium {
		t.Errorf("row tombstone: kind %q, err %v", kind, err)
	}
	mongo := goldenRec(t, mongoGolden, 4)
	key, _ = json.Marshal(mongo.key)
	if kind, err := s.CheckRecord("debezium", key, nil, mongo.headers); err != nil || kind != KindDebeziumMongo {
		t.Errorf("mongo tombstone: kind %q, err %v", kind, err)
	}
}

func TestFindRepoRoot(t *testing.T) {
	root, err := FindRepoRoot(filepath.Join("..", "format", "maxwell"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "schemas", "headers.schema.json")); err != nil {
		t.Errorf("root %s: %v", root, err)
	}
	if _, err := FindRepoRoot(t.TempDir()); err == nil {
		t.Error("found a root above a temporary folder")
	}
}

// FuzzValidateRecord: ValidateRecord returns an error, never panics, on
// any key, value and headers; seeded with the golden records.
func FuzzValidateRecord(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(formatDir, "*", "testdata", "golden", "*.jsonl"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var g goldenRecord
			if json.Unmarshal(line, &g) != nil {
				continue
			}
			hdr, _ := json.Marshal(g.Headers)
			f.Add([]byte(g.Key), []byte(g.Value), hdr)
		}
	}
	root, err := FindRepoRoot(".")
	if err != nil {
		f.Fatal(err)
	}
	s, err := Load(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value, hdr []byte) {
		var h map[string]string
		if json.Unmarshal(hdr, &h) != nil {
			return
		}
		if bytes.Equal(value, []byte("null")) {
			value = nil
		}
		_ = s.ValidateRecord("", key, value, h)
	})
}
