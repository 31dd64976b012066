package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestGaleraFailover runs capture against a 2-node MariaDB Galera cluster
// (wsrep_gtid_mode, log_slave_updates: both nodes log every cluster write
// under the same GTID) with both nodes in its address list, node 1 first.
// A writer writes to node 1; capture starts a few seconds behind, and once
// it streams from node 1, node 1 is killed with SIGKILL under load (most
// often in the middle of a source transaction capture is reading). The
// writer carries on at node 2 and capture must continue from node 2 by
// GTID (issue 3, item 6): a read_committed consumer must then see every
// committed change exactly once, in per-key order, with transaction marks.
func TestGaleraFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Galera failover test takes a minute")
	}
	k := testenv.SharedKafka(t)
	g := testenv.NewGalera(t, testenv.GaleraOptions{})
	bin := buildCapture(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, Kafka: %s, nodes: %s", seed, k.Kind(), strings.Join(g.Addrs(), ", "))
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n%s", append(args, g.LogTails(30))...)
	}

	// In a 2-node cluster the survivor of a crash holds half the quorum
	// weight and would stop serving; node 2 is to survive, so it gets 2.
	if err := g.SetWeight(ctx, 1, 2); err != nil {
		fail("%v", err)
	}
	dbName := g.Nodes[0].CreateDatabase(t)
	var nodes [2]*sql.DB
	for i := range nodes {
		db, err := g.Nodes[i].Open(dbName)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		nodes[i] = db
	}
	if err := createSchema(ctx, nodes[0]); err != nil {
		fail("%v", err)
	}

	cfg := captureConfig{name: "c" + strings.TrimPrefix(dbName, "t_"), addrs: g.Addrs(), user: g.Nodes[0].User(),
		db: dbName, brokers: k.Brokers(), format: "maxwell"}
	// The writer: node 1 until it fails, then node 2.
	w := newWorkload(seed, 40)
	var stopWriter, onNode2 atomic.Bool
	var node2Commits, commits atomic.Int64
	writerDone := make(chan error, 1)
	var switchInfo string
	go func() {
		wr := rand.New(rand.NewPCG(seed, 2))
		target := 0
		for !stopWriter.Load() {
			p := w.plan()
			committed, err := galeraWrite(ctx, nodes, &target, p)
			if err != nil {
				writerDone <- err
				return
			}
			if target == 1 && !onNode2.Load() {
				switchInfo = fmt.Sprintf("writer moved to node 2 at transaction %d", p.seq)
				onNode2.Store(true)
			}
			if committed {
				w.commit(p)
				commits.Add(1)
				if target == 1 {
					node2Commits.Add(1)
				}
			}
			time.Sleep(time.Duration(wr.IntN(3000)) * time.Microsecond)
		}
		writerDone <- nil
	}()

	// Capture starts behind (start.default earliest, a few seconds of
	// writes already in the binlog) and node 1 dies soon after, so it is
	// likely still catching up: then node 2 must serve it transactions
	// that were written at node 1.
	rng := rand.New(rand.NewPCG(seed, 1))
	time.Sleep(3 * time.Second)
	log := newCaptureLog(t)
	capture := startCapture(t, bin, writeConfig(t, cfg), g.Nodes[0].Password(), log)
	for deadline := time.Now().Add(30 * time.Second); !capture.running.Load(); time.Sleep(20 * time.Millisecond) {
		if capture.Exited() || time.Now().After(deadline) {
			stopWriter.Store(true)
			fail("capture did not start (exit %v):\n%s", capture.Err(), capture.lastLines())
		}
	}
	// Kill node 1 while capture streams from it.
	if capture.Exited() || log.waitFor(30*time.Second, `"msg":"streaming binlog"`, `"server":"`+g.Nodes[0].Addr()+`"`) == "" {
		stopWriter.Store(true)
		fail("capture did not stream from node 1 (exit %v):\n%s", capture.Err(), capture.lastLines())
	}
	time.Sleep(time.Duration(50+rng.IntN(500)) * time.Millisecond)
	if len(writerDone) > 0 {
		fail("writer: %v", <-writerDone)
	}
	node1Pos, err := g.Nodes[0].GTIDPosition(ctx)
	if err != nil {
		fail("%v", err)
	}
	killedAt := time.Now()
	g.Nodes[0].Kill()
	t.Logf("node 1 killed (SIGKILL) under load, after %d writer transactions; its gtid_binlog_pos just before: %s", commits.Load(), node1Pos)
	// Node 2 pauses until the cluster has dropped node 1 (about 3s); the
	// writer goes on there until capture has had a load to follow.
	for deadline := time.Now().Add(30 * time.Second); node2Commits.Load() < 300 && time.Now().Before(deadline) && len(writerDone) == 0; {
		time.Sleep(50 * time.Millisecond)
	}
	stopWriter.Store(true)
	if err := <-writerDone; err != nil {
		fail("writer: %v", err)
	}
	if !onNode2.Load() {
		fail("the writer never moved to node 2")
	}
	tr := w.tr
	t.Logf("%s; the writer committed %d transactions (%d on node 2), %d row changes", switchInfo, len(tr.TxRows), node2Commits.Load(), tr.changes())

	topics := []string{cfg.topic("a"), cfg.topic("b"), cfg.topic(ledgerTable)}
	evs := consume(t, k.Brokers(), topics, tr.changes(), 3*time.Second, 90*time.Second)
	t.Logf("read %d events, %s after node 1 was killed", len(evs), time.Since(killedAt).Round(time.Millisecond))
	if capture.Exited() {
		t.Errorf("capture exited by itself (exit %d):\n%s", testenv.ExitCode(capture.Err()), capture.lastLines())
	} else if code := capture.stop(30 * time.Second); code != 0 {
		t.Errorf("capture: exit %d after SIGTERM, want 0:\n%s", code, capture.lastLines())
	}
	// Where capture read from, and every warning and error it logged.
	var story []string
	for _, l := range log.lines() {
		if strings.Contains(l, `"streaming binlog"`) || strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) {
			story = append(story, l)
		}
	}
	t.Logf("capture's reader starts, warnings and errors:\n%s", strings.Join(story, "\n"))
	last := ""
	for _, l := range story {
		if strings.Contains(l, `"streaming binlog"`) || strings.Contains(l, `"failing over to another source server"`) {
			last = l
		}
	}
	if !strings.Contains(last, g.Nodes[1].Addr()) {
		t.Errorf("capture's last stream start or failover was not on node 2 (%s): %s", g.Nodes[1].Addr(), last)
	}
	r := validate(tr, evs)
	t.Logf("galera failover: %s", r)
	if !r.ok() {
		t.Errorf("read_committed consumer did not see every committed change exactly once, in order, with transaction marks")
	}
}

// galeraWrite commits p on nodes[*target]. When the write fails it moves
// to node 2 for good (node 1 is the one that dies), finds out from node
// 2's ledger whether p committed after all (the answer to a COMMIT may be
// lost with the node), and if not runs p again there, until it committed
// or 60s passed (node 2 pauses while the cluster drops node 1).
func galeraWrite(ctx context.Context, nodes [2]*sql.DB, target *int, p *txPlan) (bool, error) {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		_, err := execTx(ctx, nodes[*target], p)
		if err == nil {
			return true, nil
		}
		last = err
		*target = 1
		if ok, err := inLedger(ctx, nodes[1], p.seq); err != nil {
			last = fmt.Errorf("%w; then asking node 2's ledger: %w", last, err)
		} else if ok {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false, fmt.Errorf("writer transaction %d did not commit within 60s: %w", p.seq, last)
}

// inLedger reports whether writer transaction seq committed, asking with
// wsrep_sync_wait so the node has applied every write set it received.
func inLedger(ctx context.Context, db *sql.DB, seq int64) (bool, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION wsrep_sync_wait = 1"); err != nil {
		return false, err
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger WHERE id = ?", seq).Scan(&n); err != nil {
		return false, err
	}
	return n == 1, nil
}
