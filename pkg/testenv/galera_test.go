package testenv

import (
	"context"
	"testing"
	"time"
)

// TestGalera starts a 2-node cluster, writes on node 2 and wants the same
// GTID position in both nodes' binlogs (wsrep_gtid_mode), then crashes
// node 1 and wants node 2 to keep serving writes (pc.weight).
func TestGalera(t *testing.T) {
	g := NewGalera(t, GaleraOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for i := range g.Nodes {
		if n, err := g.ClusterSize(ctx, i); err != nil || n != 2 {
			t.Fatalf("node %d: cluster size %d, %v", i+1, n, err)
		}
	}
	db2, err := g.Nodes[1].Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for _, q := range []string{"CREATE DATABASE g", "CREATE TABLE g.t (id INT PRIMARY KEY)", "INSERT INTO g.t VALUES (1), (2)"} {
		if _, err := db2.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var pos [2]string
	if err := WaitFor(ctx, 10*time.Second, "equal GTID positions", func(ctx context.Context) error {
		for i := range g.Nodes {
			if pos[i], err = g.Nodes[i].GTIDPosition(ctx); err != nil {
				return err
			}
		}
		if pos[0] != pos[1] || pos[0] == "" {
			return &mismatch{pos[0], pos[1]}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, g.LogTails(20))
	}
	t.Logf("gtid_binlog_pos on both nodes: %s", pos[0])
	if err := g.SetWeight(ctx, 1, 2); err != nil {
		t.Fatal(err)
	}
	g.Nodes[0].Kill()
	if _, err := db2.ExecContext(ctx, "INSERT INTO g.t VALUES (3)"); err != nil {
		t.Fatalf("node 2 after node 1 crashed: %v\n%s", err, g.LogTails(20))
	}
}

type mismatch struct{ a, b string }

func (m *mismatch) Error() string { return "node 1 " + m.a + ", node 2 " + m.b }
