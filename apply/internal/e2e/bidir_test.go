package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

const bidirItems = `CREATE TABLE items (id BIGINT PRIMARY KEY, val VARCHAR(64) NOT NULL, n INT NOT NULL)`

// TestBidirectionalNoLoop runs A -> B and B -> A at once: two MariaDB
// servers, each with a capture that drops the transactions the other
// direction's apply wrote (origin markers), and an apply into the other
// server tagging its writes. Both sides write; afterwards both hold the
// same rows, and each side's topic holds exactly that side's own changes:
// nothing came back around (no loop, no ping-pong updates).
func TestBidirectionalNoLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("bidirectional test is long")
	}
	e := newEnv(t)
	applyPath, capturePath := buildApply(t), buildCapture(t)
	a := e.maria
	b := testenv.NewMariaDB(t, testenv.MariaDBOptions{ServerID: 2, GTIDDomainID: 2})
	dbA := a.CreateDatabase(t)
	dbB := b.CreateDatabase(t)
	connA, err := a.Open(dbA)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close()
	connB, err := b.Open(dbB)
	if err != nil {
		t.Fatal(err)
	}
	defer connB.Close()
	e.exec(connA, bidirItems)
	e.exec(connB, bidirItems)
	gtidA, err := a.GTIDPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gtidB, err := b.GTIDPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prefA, prefB := e.prefix+"-a", e.prefix+"-b"
	topicA, topicB := prefA+"."+dbA+".items", prefB+"."+dbB+".items"

	captureCfg := func(name string, m *testenv.MariaDB, db, prefix, drop string) string {
		return captureYAML(t, dir, name+".yaml", name+"-"+strings.TrimPrefix(e.mdb, "t_"), m, 8000+rand.IntN(1000),
			db, "maxwell", prefix, e.brokers, "drop_origins: ["+drop+"]")
	}
	applyCfg := func(name, topic, origin string) string {
		return writeFile(t, dir, name+".yaml", fmt.Sprintf(`group: %s
topics: [%q]
target: {kind: mysql, dsn: "${TARGET_DSN}", origin: %s}
batch: {rows: 200, linger: 20ms}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
`, name+"-"+e.prefix, topic, origin, e.brokers[0]))
	}
	env := func(kv ...string) []string { return append(os.Environ(), kv...) }
	capA := startSvc(t, "capture-a", dir, env("SOURCE_PASSWORD="+a.Password()), capturePath, "run",
		"--config", captureCfg("capture-a", a, dbA, prefA, "from-b"), "--from", "gtid:"+gtidA)
	capB := startSvc(t, "capture-b", dir, env("SOURCE_PASSWORD="+b.Password()), capturePath, "run",
		"--config", captureCfg("capture-b", b, dbB, prefB, "from-a"), "--from", "gtid:"+gtidB)
	capA.waitLog(t, "capture running", 60*time.Second)
	capB.waitLog(t, "capture running", 60*time.Second)

	// Seed one row on each side so both topics exist before apply starts.
	e.exec(connA, "INSERT INTO items VALUES (1, 'a', 0)")
	e.exec(connB, "INSERT INTO items VALUES (100001, 'b', 0)")
	ownA, ownB := 1, 1
	waitTopic(t, e.adm, topicA, 2, 60*time.Second)
	waitTopic(t, e.adm, topicB, 2, 60*time.Second)
	applyAB := startSvc(t, "apply-a-to-b", dir, env("TARGET_DSN="+b.DSN(dbB)), applyPath, "run", "--config", applyCfg("apply-a-to-b", topicA, "from-a"))
	applyBA := startSvc(t, "apply-b-to-a", dir, env("TARGET_DSN="+a.DSN(dbA)), applyPath, "run", "--config", applyCfg("apply-b-to-a", topicB, "from-b"))
	applyAB.waitLog(t, "apply running", 60*time.Second)
	applyBA.waitLog(t, "apply running", 60*time.Second)

	// Both sides write their own key ranges at once: inserts, updates,
	// deletes, some multi-row transactions.
	write := func(conn *sql.DB, base int64, seed uint64, own *int) error {
		rng := rand.New(rand.NewPCG(seed, 7))
		for i := range 400 {
			id := base + int64(rng.IntN(150)) + 2
			var q string
			switch rng.IntN(4) {
			case 0, 1:
				q = fmt.Sprintf("INSERT INTO items VALUES (%d, 'v%d', %d) ON DUPLICATE KEY UPDATE val = VALUES(val), n = n + 1", id, i, i)
			case 2:
				q = fmt.Sprintf("UPDATE items SET n = n + 1, val = 'u%d' WHERE id = %d", i, id)
			default:
				q = fmt.Sprintf("DELETE FROM items WHERE id = %d", id)
			}
			r, err := conn.Exec(q)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				// ON DUPLICATE KEY UPDATE reports 2 for an update: one change.
				*own++
			}
		}
		return nil
	}
	errc := make(chan error, 2)
	go func() { errc <- write(connA, 0, 1, &ownA) }()
	go func() { errc <- write(connB, 100000, 2, &ownB) }()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// Then each side updates rows that came from the other side: those
	// changes must reach the other side once and stop there.
	converge := func() {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			ra, rb := rowsText(t, connA, "SELECT CONCAT_WS('|', id, val, n) FROM items ORDER BY id"),
				rowsText(t, connB, "SELECT CONCAT_WS('|', id, val, n) FROM items ORDER BY id")
			if slices.Equal(ra, rb) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("sides differ after 90s: A %d rows, B %d rows", len(ra), len(rb))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	converge()
	r, err := connA.Exec("UPDATE items SET n = n + 1000 WHERE id > 100000")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := r.RowsAffected()
	ownA += int(n)
	if n == 0 {
		t.Fatal("A had no rows from B to update")
	}
	converge()

	// Quiet period: were anything looping, the topics would keep growing.
	time.Sleep(3 * time.Second)
	recA, recB := readTopic(t, e.brokers, topicA), readTopic(t, e.brokers, topicB)
	time.Sleep(2 * time.Second)
	recA2, recB2 := readTopic(t, e.brokers, topicA), readTopic(t, e.brokers, topicB)
	t.Logf("bidirectional: A wrote %d changes, B wrote %d; topic A holds %d records, topic B %d; both sides %d rows and equal",
		ownA, ownB, recA.records, recB.records, len(rowsText(t, connA, "SELECT id FROM items")))
	if recA.records != recA2.records || recB.records != recB2.records {
		t.Errorf("topics still growing while nobody writes: A %d -> %d, B %d -> %d (a loop)", recA.records, recA2.records, recB.records, recB2.records)
	}
	if recA.records != ownA || recB.records != ownB {
		t.Errorf("topic A has %d records for %d changes written on A, topic B %d for %d on B: applied changes came back",
			recA.records, ownA, recB.records, ownB)
	}
	for _, s := range []*svc{applyAB, applyBA, capA, capB} {
		if err := s.stop(t); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
}
