package publish

import (
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

// The pipeline drives a Publisher through its interface.
var _ pipeline.Publisher = (*Publisher)(nil)

func TestConfig(t *testing.T) {
	p, err := New(Config{Kafka: config.Kafka{Brokers: []string{"127.0.0.1:1"}}, CaptureName: "orders", Encoder: &maxwell.Encoder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := p.cfg
	if c.TransactionalID != "sluice-capture-orders" || c.PositionsTopic != "sluice.positions" || c.SourceKind != "mysql" ||
		c.TopicTemplate != "{prefix}.{db}.{table}" || c.CommitEvery != DefaultCommitEvery || c.Partitions != -1 || !p.Transactional() {
		t.Errorf("defaults: %+v", c)
	}
	if got := *p.topicCfgs["compression.type"]; got != "zstd" {
		t.Errorf("compression.type %q", got)
	}
	_, err = New(Config{Kafka: config.Kafka{Brokers: []string{"b:1"}}, SourceKind: "oracle", Compression: "brotli",
		CommitEvery: -1, CommitInterval: 2 * DefaultTransactionTimeout})
	for _, want := range []string{"capture name is required", "encoder", `source kind "oracle"`, `compression "brotli"`, "commit every -1", "shorter than the transaction timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad config: error %v does not mention %q", err, want)
		}
	}
	_, err = New(Config{Kafka: config.Kafka{Brokers: []string{"b:1"}}, CaptureName: "x", Encoder: &maxwell.Encoder{},
		TopicTemplate: "{prefix}.{table}", TopicPrefix: "p", PositionsTopic: "p.x"})
	if err != nil {
		t.Fatalf("template {prefix}.{table}: %v", err)
	}
}

func TestParsePosition(t *testing.T) {
	pos := `{"gtid":"0-1-5","file":"b.000001","pos":4}`
	for _, tc := range []struct {
		kind, value string
		want        string
		ok          bool
		err         string
	}{
		{"mysql", `{"capture":"c","mysql":` + pos + `,"updated_ms":1}`, pos, true, ""},
		{"mongo", `{"capture":"c","mongo":{"resume_token":"82AB"},"updated_ms":1}`, `{"resume_token":"82AB"}`, true, ""},
		{"mysql", `{"capture":"c","mysql":` + pos + `,"updated_ms":1,"snapshot":{"t":1}}`, pos, true, ""},
		{"mysql", `{"capture":"other","mysql":` + pos + `}`, "", false, `names capture "other"`},
		{"mongo", `{"capture":"c","mysql":` + pos + `}`, "", false, "stored mysql position, but this capture reads mongo"},
		{"mysql", `{"capture":"c","mysql":null}`, "", false, "no mysql position"},
		{"mysql", `{"capture":`, "", false, "not valid"},
	} {
		got, ok, err := parsePosition("c", tc.kind, []byte(tc.value))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parsePosition(%s) err = %v, want %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("parsePosition(%s) = %q, %v, %v", tc.value, got, ok, err)
		}
	}
	if _, ok, err := parsePosition("c", "mysql", nil); ok || err != nil {
		t.Errorf("tombstone: ok %v err %v", ok, err)
	}
}

// TestTypesHeaderCache: the header is built once per table and column
// list, rebuilt on a schema change, and equals format.AppendTypes.
func TestTypesHeaderCache(t *testing.T) {
	p := &Publisher{types: map[[2]string]*typesEntry{}}
	e := eventtest.Small()
	h1 := p.typesHeader(&e)
	if string(h1) != string(format.AppendTypes(nil, e.Columns)) {
		t.Fatalf("header %s", h1)
	}
	e2 := eventtest.Small()
	if h2 := p.typesHeader(&e2); &h2[0] != &h1[0] {
		t.Error("same table and columns: header rebuilt")
	}
	e2.Columns = append(e2.Columns, event.Column{Name: "added", Type: "int(11)", Kind: event.Int})
	h3 := p.typesHeader(&e2)
	if &h3[0] == &h1[0] || !strings.Contains(string(h3), `"added":"int(11)"`) {
		t.Errorf("after adding a column: %s", h3)
	}
	e2.Columns[0].Name = "renamed" // a source reusing its slice must not change the cache
	if h4 := p.typesHeader(&e2); !strings.Contains(string(h4), `"renamed"`) {
		t.Errorf("after renaming a column: %s", h4)
	}
	if r := testing.AllocsPerRun(100, func() { p.typesHeader(&e2) }); r != 0 {
		t.Errorf("cached header costs %v allocations", r)
	}
}
