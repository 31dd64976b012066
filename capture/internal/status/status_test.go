package status

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/capture/internal/app"
	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedKafka) }

// TestStatus runs a capture (initial snapshot of a small table, then
// streaming): status shows the stored position and the table's topic;
// with the metrics address the source lag and readiness; after a stop, a
// snapshot request sent meanwhile is pending.
func TestStatus(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	k := testenv.SharedKafka(t)
	dbName := m.CreateDatabase(t)
	db, err := m.Open(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t SELECT seq, seq FROM seq_1_to_3000"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	name := "st" + strings.TrimPrefix(dbName, "t_")
	y := fmt.Sprintf(`name: %s
source: {addrs: [%q], user: %s, password: %q, server_id: %d, heartbeat: 500ms}
include: ["%s.*"]
topics: {prefix: %s, partitions: 2, replication_factor: 1}
transactions: {commit_interval: 100ms}
start: {default: latest}
snapshot: {mode: initial, chunk_size: 1000}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
`, name, m.Addr(), m.User(), m.Password(), 7900+time.Now().UnixNano()%90, dbName, name, k.Brokers()[0])
	path := t.TempDir() + "/capture.yaml"
	if err := writeFile(path, y); err != nil {
		t.Fatal(err)
	}
	var cfg app.Config
	if err := config.Load(path, &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, &cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), app.Options{
			Registry: prometheus.NewRegistry(), Listening: func(a string) { addr <- a }})
	}()
	var url string
	select {
	case url = <-addr:
	case err := <-done:
		t.Fatalf("capture exited: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("capture did not start")
	}

	// Wait until the snapshot is stored as done, then write a change.
	topic := name + "." + dbName + ".t"
	var rep *Report
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		if rep, err = Collect(t.Context(), &cfg, Options{}); err != nil {
			t.Fatal(err)
		}
		if rep.Stored && rep.Snapshot == nil && len(rep.Topics) == 1 && rep.Topics[0].Total >= 3000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stored position with the snapshot done: %+v", rep)
		}
	}
	if rep.Topics[0].Name != topic || len(rep.Topics[0].EndOffsets) != 2 || !strings.Contains(string(rep.Position), `"file"`) {
		t.Fatalf("report %+v", rep)
	}
	if _, err := db.Exec("UPDATE t SET v = 0 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	rep, err = Collect(t.Context(), &cfg, Options{URL: url, Sample: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.WriteText(&out, time.Now())
	t.Logf("capture status --url:\n%s", out.String())
	if l := rep.Live; l == nil || l.Error != "" || !l.Ready || l.LagSeconds == nil || l.EventsTotal < 3000 {
		t.Fatalf("live part %+v", rep.Live)
	}
	for _, want := range []string{"position    {", "snapshot    none in progress", topic, "source lag", "ready"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.RequestSnapshot(t.Context(), &cfg, []string{dbName + ".t"}); err != nil {
		t.Fatal(err)
	}
	if rep, err = Collect(t.Context(), &cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	if !rep.Signals.Exists || rep.Signals.Pending != 1 || rep.Signals.Next != 0 {
		t.Fatalf("signals %+v, want one pending request", rep.Signals)
	}
}

// TestReportText: snapshot progress, queued tables and a missing position
// read as intended; metrics text is summed per name.
func TestReportText(t *testing.T) {
	st := snapshot.State{Tables: []snapshot.Table{
		{DB: "shop", Table: "orders", Rows: 250, Total: 1000, Chunks: 3}, {DB: "shop", Table: "items"}},
		Done: []string{"shop.users"}}
	r := &Report{Capture: "c1", PositionsTopic: "p.positions", Snapshot: snapshotOf(st),
		Signals: Signals{Topic: "p.signals", Exists: true, End: 3, Next: 2, Pending: 1}}
	var out bytes.Buffer
	r.WriteText(&out, time.Now())
	for _, want := range []string{"none stored in p.positions", "shop.orders: 250 rows of ~1000 (25%), 3 chunks; queued: shop.items; done: shop.users",
		"p.signals: end 3, capture reads from 2, 1 pending", "topics      0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
	got := parseMetrics(`# HELP x
sluice_capture_events_total{capture="c",op="insert",table="a"} 10
sluice_capture_events_total{capture="c",op="update",table="a {b}"} 5
sluice_capture_source_lag_seconds 0.25
bad line
`)
	if got["sluice_capture_events_total"] != 15 || got["sluice_capture_source_lag_seconds"] != 0.25 {
		t.Fatalf("parseMetrics = %v", got)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
