package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

// TestCaptureToTargets is the whole chain on real servers: statements on a
// MariaDB source (the all-types fixture, and an orders table with updates,
// deletes and a primary-key change), the capture binary, the Kafka broker,
// and two apply binaries into MariaDB and PostgreSQL. all_types must arrive
// exactly; orders goes through a mapping rule (renamed table, excluded and
// renamed columns, a static column, a row filter that turns an update
// leaving the filter into a delete).
func TestCaptureToTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end chain")
	}
	for _, style := range []string{"maxwell", "debezium"} {
		t.Run(style, func(t *testing.T) { captureToTargets(t, style) })
	}
}

const (
	ordersSrc = `CREATE TABLE orders (id BIGINT PRIMARY KEY, status VARCHAR(16) NOT NULL, note VARCHAR(64), secret VARCHAR(64))`
	ordersEU  = `CREATE TABLE orders_eu (id BIGINT PRIMARY KEY, status VARCHAR(16) NOT NULL, remark VARCHAR(64), region VARCHAR(8))`
)

func captureToTargets(t *testing.T, style string) {
	e := newEnv(t)
	applyPath, capturePath := buildApply(t), buildCapture(t)
	src := e.maria.CreateDatabase(t)
	sconn, err := e.maria.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close()
	sconn.SetMaxOpenConns(1) // the session settings below must hold for every statement
	e.exec(sconn, "SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'",
		eventtest.CreateTableSQL(src, eventtest.Table), ordersSrc)
	e.exec(e.mconn, eventtest.CreateTableSQL(e.mdb, eventtest.Table), ordersEU)
	e.exec(e.pconn, pgAllTypes, ordersEU)
	gtid, err := e.maria.GTIDPosition(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	capCfg := captureYAML(t, dir, "capture.yaml", "chain-"+style+"-"+strings.TrimPrefix(e.mdb, "t_"), e.maria, 9000+len(style),
		src, style, e.prefix, e.brokers, "snapshot: {mode: never}")
	capture := startSvc(t, "capture", dir, append(os.Environ(), "SOURCE_PASSWORD="+e.maria.Password()),
		capturePath, "run", "--config", capCfg, "--from", "gtid:"+gtid)
	capture.waitLog(t, "capture running", 60*time.Second)

	applyCfg := func(name, kind string) string {
		return writeFile(t, dir, name+".yaml", fmt.Sprintf(`group: %s
topics: ["^%s\\.%s\\..*"]
topic_regex: true
target: {kind: %s, dsn: "${TARGET_DSN}"}
mapping:
  rules:
    - source: "%s.orders"
      target: orders_eu
      exclude: [secret]
      rename: {note: remark}
      static: {region: eu}
      filter: {column: status, op: in, values: [paid, shipped]}
batch: {rows: 500, linger: 20ms}
consumer: {topic_refresh: 1s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
`, name+"-"+e.prefix, strings.ReplaceAll(e.prefix, ".", "\\\\."), src, kind, src, e.brokers[0]))
	}
	toMaria := startSvc(t, "apply-mariadb", dir, append(os.Environ(), "TARGET_DSN="+e.maria.DSN(e.mdb)),
		applyPath, "run", "--config", applyCfg("to-maria", "mysql"))
	toPG := startSvc(t, "apply-postgres", dir, append(os.Environ(), "TARGET_DSN="+e.pg.DSN(e.pdb)),
		applyPath, "run", "--config", applyCfg("to-pg", "postgres"))
	toMaria.waitLog(t, "apply running", 60*time.Second)
	toPG.waitLog(t, "apply running", 60*time.Second)

	// The source changes: the fixture's transactions, then orders.
	for _, tx := range eventtest.Statements(src, eventtest.Table) {
		e.exec(sconn, tx...)
	}
	statuses := []string{"new", "paid", "shipped", "cancelled"}
	for i := 1; i <= 40; i++ {
		e.exec(sconn, fmt.Sprintf("INSERT INTO orders VALUES (%d, '%s', 'note %d ✓', 'secret %d')", i, statuses[i%4], i, i))
	}
	e.exec(sconn,
		"UPDATE orders SET status = 'paid' WHERE id BETWEEN 1 AND 8",        // into the filter
		"UPDATE orders SET status = 'cancelled' WHERE id BETWEEN 30 AND 35", // out of it: deletes
		"UPDATE orders SET note = NULL WHERE id = 2",                        // a NULL
		"DELETE FROM orders WHERE id IN (6, 7, 21)",                         // deletes, one outside the filter
		"UPDATE orders SET id = id + 1000 WHERE id IN (2, 5)",               // primary-key changes
		"BEGIN", "UPDATE orders SET note = 'in a tx' WHERE id = 1002", "INSERT INTO orders VALUES (99, 'shipped', 'tx', 's')", "COMMIT",
	)

	allTypes := "SELECT * FROM `%s`.all_types ORDER BY id"
	wantOrders := rowsText(t, sconn, "SELECT CONCAT_WS('|', id, status, IFNULL(note, '<null>'), 'eu') FROM orders WHERE status IN ('paid', 'shipped') ORDER BY id")
	mOrders := "SELECT CONCAT_WS('|', id, status, IFNULL(remark, '<null>'), region) FROM orders_eu ORDER BY id"
	pOrders := "SELECT concat_ws('|', id, status, coalesce(remark, '<null>'), region) FROM orders_eu ORDER BY id"
	wantTypes := rowsText(t, e.mconn, fmt.Sprintf(allTypes, src))
	deadline := time.Now().Add(90 * time.Second)
	for {
		mt := rowsText(t, e.mconn, fmt.Sprintf(allTypes, e.mdb))
		mo, po := rowsText(t, e.mconn, mOrders), rowsText(t, e.pconn, pOrders)
		var pn int
		if err := e.pconn.QueryRow("SELECT count(*) FROM all_types").Scan(&pn); err != nil {
			t.Fatal(err)
		}
		if slices.Equal(mt, wantTypes) && slices.Equal(mo, wantOrders) && slices.Equal(po, wantOrders) && pn == len(wantTypes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets did not converge in 90s:\n all_types mariadb %q\n want %q\n orders mariadb %q\n orders postgres %q\n want %q\n%s\n%s",
				mt, wantTypes, mo, po, wantOrders, toMaria.tail(10), toPG.tail(10))
		}
		time.Sleep(200 * time.Millisecond)
	}
	comparePG(t, e.mconn, e.pconn, src)
	if len(wantTypes) != 3 || len(wantOrders) < 10 {
		t.Fatalf("fixture shape changed: %d all_types rows, %d orders rows", len(wantTypes), len(wantOrders))
	}
	t.Logf("%s: all_types (%d rows, every type) exact in MariaDB and PostgreSQL; orders_eu %d rows through the mapping rule in both",
		style, len(wantTypes), len(wantOrders))
	for _, s := range []*svc{toMaria, toPG, capture} {
		if err := s.stop(t); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
}
