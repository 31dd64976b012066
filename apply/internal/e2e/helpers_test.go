package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/apply/internal/app"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.NeedMariaDB, testenv.NeedPostgres, testenv.NeedKafka)
}

// env is one test's servers: a fresh MariaDB database and PostgreSQL
// database as targets, a topic namespace on the shared broker.
type env struct {
	t        *testing.T
	maria    *testenv.MariaDB
	pg       *testenv.Postgres
	brokers  []string
	mdb      string // MariaDB target database
	pdb      string // PostgreSQL target database
	mconn    *sql.DB
	pconn    *sql.DB
	prefix   string
	producer *kgo.Client
	adm      *kadm.Client
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, maria: testenv.SharedMariaDB(t), pg: testenv.SharedPostgres(t), brokers: testenv.SharedKafka(t).Brokers()}
	e.mdb = e.maria.CreateDatabase(t)
	e.pdb = e.pg.CreateDatabase(t)
	var err error
	if e.mconn, err = e.maria.Open(e.mdb); err != nil {
		t.Fatal(err)
	}
	if e.pconn, err = e.pg.Open(e.pdb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.mconn.Close(); e.pconn.Close() })
	e.prefix = "e2e-" + testenv.UniqueName(t)
	if e.producer, err = kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.producer.Close)
	e.adm = kadm.NewClient(e.producer)
	return e
}

func (e *env) topic(table string) string { return e.prefix + ".shop." + table }

func (e *env) createTopic(name string, partitions int32) {
	e.t.Helper()
	if _, err := e.adm.CreateTopic(context.Background(), partitions, 1, nil, name); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) exec(db *sql.DB, qs ...string) {
	e.t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
	}
}

// records encodes events as capture publishes them: key and value in the
// encoder's style, the format and types headers, and for Debezium a key
// change as a delete plus a create.
func records(t *testing.T, topic string, enc format.Encoder, evs []event.Event) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	add := func(ev *event.Event) {
		k, err := enc.AppendKey(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		v, err := enc.AppendValue(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &kgo.Record{Topic: topic, Key: k, Value: v, Headers: []kgo.RecordHeader{
			{Key: format.HeaderFormat, Value: []byte(enc.Name())},
			{Key: format.HeaderTypes, Value: format.AppendTypes(nil, ev.Columns)},
			{Key: format.HeaderPosition, Value: []byte(ev.Position)},
		}})
	}
	for i := range evs {
		ev := &evs[i]
		if enc.Name() == format.Debezium {
			if del, create, ok := debezium.SplitKeyChange(ev); ok {
				add(&del)
				add(&create)
				continue
			}
		}
		add(ev)
	}
	return out
}

func (e *env) produce(recs []*kgo.Record) {
	e.t.Helper()
	if err := e.producer.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

// applyConfig is a valid config for a target kind, consuming topics.
func (e *env) applyConfig(kind, group string, topics ...string) *app.Config {
	var c app.Config
	c.SetDefaults()
	c.Group, c.Topics = group, topics
	c.Target.Kind = kind
	switch kind {
	case "mysql":
		c.Target.DSN = config.Secret(e.maria.DSN(e.mdb))
	case "postgres":
		c.Target.DSN = config.Secret(e.pg.DSN(e.pdb))
	}
	c.Kafka.Brokers = e.brokers
	c.HTTP.Listen = "127.0.0.1:0"
	c.Batch.Linger = 20 * time.Millisecond
	c.Consumer.SessionTimeout = 6 * time.Second
	return &c
}

// running is an in-process apply.
type running struct {
	cancel  context.CancelFunc
	done    chan error
	metrics string
}

func (e *env) runApply(cfg *app.Config) *running {
	e.t.Helper()
	if err := cfg.Validate(); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	addr := make(chan string, 1)
	log := zaptest.NewLogger(e.t, zaptest.Level(zap.WarnLevel))
	go func() {
		r.done <- app.Run(ctx, cfg, log, app.Options{Registry: prometheus.NewRegistry(), Listening: func(a string) { addr <- a }})
	}()
	select {
	case r.metrics = <-addr:
	case err := <-r.done:
		e.t.Fatalf("apply exited at start: %v", err)
	case <-time.After(30 * time.Second):
		e.t.Fatal("apply did not start within 30s")
	}
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("apply: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Error("apply did not stop within 40s")
	}
}

// endOffsets is the high watermark of each partition of topic.
func (e *env) endOffsets(topic string) map[int32]int64 {
	e.t.Helper()
	ends, err := e.adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// storedOffsets reads sluice_offsets of the target.
func storedOffsets(t *testing.T, db *sql.DB, kind, group, topic string) map[int32]int64 {
	t.Helper()
	q := "SELECT partition_id, next_offset FROM sluice_offsets WHERE group_id = ? AND topic = ?"
	if kind == "postgres" {
		q = "SELECT partition_id, next_offset FROM sluice_offsets WHERE group_id = $1 AND topic = $2 AND next_offset >= 0"
	}
	rows, err := db.Query(q, group, topic)
	if err != nil {
		return nil // table not created yet
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		out[p] = n
	}
	return out
}

// waitApplied waits until the target stored the end offset of every
// partition of topic.
func (e *env) waitApplied(db *sql.DB, kind, group, topic string) {
	e.t.Helper()
	want := e.endOffsets(topic)
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := storedOffsets(e.t, db, kind, group, topic)
		ok := true
		for p, end := range want {
			if end > 0 && got[p] != end {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s target did not reach the end of %s: stored %v, end %v", kind, topic, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the sum of a metric's samples whose labels contain every
// filter (e.g. `op="insert"`).
func metric(t *testing.T, addr, name string, filters ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	var sum float64
	for _, line := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, f := range filters {
			if !strings.Contains(line, f) {
				match = false
			}
		}
		if match {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			sum += v
		}
	}
	return sum
}

// rowsText returns every row of a query as one string per row.
func rowsText(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	var out []string
	for _, vals := range testenv.QueryRows(t, db, q) {
		var parts []string
		for _, v := range vals {
			if v.Valid {
				parts = append(parts, v.String)
			} else {
				parts = append(parts, "NULL")
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// captureYAML writes file in dir: a capture of database db on m, in
// format, to topics under prefix (2 partitions), with extra top-level
// YAML. The password comes from SOURCE_PASSWORD.
func captureYAML(t *testing.T, dir, file, name string, m *testenv.MariaDB, serverID int, db, format, prefix string, brokers []string, extra string) string {
	t.Helper()
	return writeFile(t, dir, file, fmt.Sprintf(`name: %s
source:
  addrs: [%q]
  user: %s
  password: "${SOURCE_PASSWORD}"
  server_id: %d
  heartbeat: 500ms
include: ["%s.*"]
format: %s
topics: {prefix: %s, partitions: 2, replication_factor: 1}
transactions: {commit_interval: 100ms}
connect_timeout: 5s
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
%s
`, name, m.Addr(), m.User(), serverID, db, format, prefix, brokers[0], extra))
}
