package app

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/config"
)

func TestExampleConfigIsValid(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "apply.example.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	lookup := func(k string) (string, bool) { return "secret-" + k, true }
	if err := config.Decode(path, raw, lookup, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Group != "sluice-apply-warehouse" || cfg.Target.DSN.Reveal() != "secret-TARGET_DSN" || len(cfg.Mapping.Rules) != 3 || cfg.Batch.Linger.String() != "100ms" {
		t.Fatalf("decoded %+v", cfg)
	}
	if strings.Contains(cfg.Target.DSN.String(), "secret") {
		t.Fatal("the DSN prints")
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	raw := `group: ""
topics: ["(", "x"]
topic_regex: true
input: {format: avro}
target: {kind: oracle}
batch: {rows: 0, bytes: 10, linger: -1s}
on_error: skip
mapping:
  rules:
    - source: nodot
kafka: {brokers: []}
`
	var cfg Config
	err := config.Decode("apply.yaml", []byte(raw), func(string) (string, bool) { return "", false }, &cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"group", "topics[0]", "input.format", "target.kind", "target.dsn", "batch.rows", "batch.bytes", "batch.linger", "on_error", "mapping.rules[0]", "kafka.brokers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestConfigRejectsUnknownFields(t *testing.T) {
	var cfg Config
	err := config.Decode("apply.yaml", []byte("group: g\ntopics: [t]\ntarget: {kind: mysql, dsn: x}\nkafka: {brokers: [\"k:9092\"]}\nbatch: {rowz: 5}\n"), func(string) (string, bool) { return "", false }, &cfg)
	if err == nil || !strings.Contains(err.Error(), "rowz") || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestConfigMongoTarget(t *testing.T) {
	decode := func(raw string) error {
		var cfg Config
		return config.Decode("apply.yaml", []byte(raw), func(string) (string, bool) { return "", false }, &cfg)
	}
	base := "group: g\ntopics: [t]\nkafka: {brokers: [\"k:9092\"]}\n"
	good := []string{
		"target: {kind: mongodb, dsn: \"mongodb://h:27017/warehouse\"}\n",
		"target: {kind: mongodb, dsn: \"mongodb://h:27017\", database: w, decimals: string, sub_millis: truncate}\n",
		"target: {kind: mysql, dsn: \"u:p@tcp(h:3306)/d\"}\nmapping: {documents: {unmapped_fields: ignore, absent_fields: keep, json: canonical}}\ninput: {format: changestream}\n",
	}
	for _, g := range good {
		if err := decode(base + g); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	err := decode(base + "target: {kind: mongodb, dsn: \"mongodb://h:27017\", origin: x, schema: s, zero_dates: error, decimals: float, sub_millis: round}\n" +
		"mapping: {documents: {unmapped_fields: drop, absent_fields: zero, json: pretty}}\n")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"target.origin", "target.schema", "target.zero_dates", "target.database", "target.decimals", "target.sub_millis",
		"documents.unmapped_fields", "documents.absent_fields", "documents.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	err = decode(base + "target: {kind: postgres, dsn: x, database: w, decimals: string}\n")
	if err == nil || !strings.Contains(err.Error(), "target.database") || !strings.Contains(err.Error(), "target.decimals") {
		t.Errorf("mongo-only settings on postgres: %v", err)
	}
	err = decode(base + "target: {kind: mongodb, dsn: \"http://secret@h\"}\n")
	if err == nil || !strings.Contains(err.Error(), "target.dsn") || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad uri: %v", err)
	}
}
