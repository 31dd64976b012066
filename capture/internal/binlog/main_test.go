package binlog

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/position"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// The tests share one MariaDB; each test works in a database of its own.
func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB) }

var nextServerID atomic.Uint32

// testConfig reads server m and captures only database db.
func testConfig(t *testing.T, m *testenv.MariaDB, db string) Config {
	return Config{
		Addrs: []string{m.Addr()}, User: m.User(), Password: m.Password(),
		ServerID: 1000 + nextServerID.Add(1),
		Tables:   func(d, _ string) bool { return d == db },
		Name:     "sluice", Version: "test", Logger: zaptest.NewLogger(t),
		HeartbeatPeriod: time.Second,
	}
}

// harness runs a Reader in the background and hands out its items.
type harness struct {
	items  chan source.Item
	cancel context.CancelFunc
	done   chan error
	err    error
	ended  bool
}

func startReader(t *testing.T, cfg Config, from string, capacity int) *harness {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{items: make(chan source.Item, capacity), cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- r.Run(ctx, from, h.items) }()
	t.Cleanup(func() { cancel(); h.wait(t) })
	return h
}

// next returns the next item, failing the test if the reader stops or
// sends nothing for 30s.
func (h *harness) next(t *testing.T) source.Item {
	t.Helper()
	select {
	case it := <-h.items:
		return it
	case err := <-h.done:
		h.ended, h.err = true, err
		t.Fatalf("reader stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no item from the reader within 30s")
	}
	return source.Item{}
}

// nextData skips heartbeats.
func (h *harness) nextData(t *testing.T) source.Item {
	t.Helper()
	for {
		if it := h.next(t); it.Kind != source.Heartbeat {
			return it
		}
	}
}

// wait returns Run's error, draining items so the reader is never stuck
// on a send.
func (h *harness) wait(t *testing.T) error {
	t.Helper()
	if h.ended {
		return h.err
	}
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-h.items:
		case err := <-h.done:
			h.ended, h.err = true, err
			return err
		case <-deadline:
			t.Fatal("the reader did not stop within 60s")
		}
	}
}

// session opens one connection set up like the fixture expects.
func session(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, q := range []string{"SET SESSION sql_mode=''", "SET SESSION time_zone='+00:00'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// execTx runs statements in one transaction.
func execTx(t *testing.T, conn *sql.Conn, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func openDB(t *testing.T, m *testenv.MariaDB, db string) *sql.DB {
	t.Helper()
	d, err := m.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// gtidNow is the server's current GTID position as a start spec.
func gtidNow(t *testing.T, m *testenv.MariaDB) string {
	t.Helper()
	g, err := m.GTIDPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return "gtid:" + g
}

func parsePosition(t *testing.T, s string) position.MySQL {
	t.Helper()
	p, err := position.ParseMySQL(s)
	if err != nil {
		t.Fatalf("position %s: %v", s, err)
	}
	return p
}

// retryable is the pipeline's view of a restartable source error.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}
