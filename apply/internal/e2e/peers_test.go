package e2e

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPeers: topics written by genuine Maxwell and genuine Debezium (no
// sluice.* headers; the peers' own extra fields; Debezium's Connect schema
// wrapper with its logical types) are applied by the apply binary to
// MariaDB and PostgreSQL, with the input format detected (auto) and set
// explicitly, and the targets end holding exactly the expected rows.
func TestPeers(t *testing.T) {
	cases := []struct {
		name, file, format string
		partitions         int32
	}{
		// Maxwell partitions by database by default: one partition holds
		// the whole story.
		{"maxwell", "maxwell.jsonl", "maxwell", 1},
		// Debezium partitions by key; a key change goes to two partitions.
		{"debezium-connect", "debezium-connect.jsonl", "debezium", 3},
		{"debezium-plain", "debezium-plain.jsonl", "debezium", 3},
	}
	for _, c := range cases {
		for _, input := range []string{"auto", c.format} {
			t.Run(c.name+"/input="+input, func(t *testing.T) {
				peerRun(t, c.file, input, c.partitions, false)
			})
		}
	}
}

// TestPeersMaxwellOutputDDL: genuine Maxwell with output_ddl=true writes
// its DDL records (table-create, table-alter, ...) to ddl_kafka_topic,
// which defaults to the row topic. apply does not replicate DDL (DESIGN
// §6) but must not stop at it either: the DDL record is skipped (and
// counted), and the rows after it applied. Only that is checked here
// (TestPeers checks the values).
func TestPeersMaxwellOutputDDL(t *testing.T) {
	peerRun(t, "maxwell-output-ddl.jsonl", "auto", 1, true)
}

// peerRun produces a fixture into a fresh topic, runs one apply binary
// per target kind and compares the targets with itemsExpected. With
// ddlOnly, only MariaDB is written and only the passage of the stream
// (every offset applied, the last row there) is checked.
func peerRun(t *testing.T, file, input string, partitions int32, ddlOnly bool) {
	e := newEnv(t)
	bin := buildApply(t)
	e.exec(e.mconn, itemsMaria)
	e.exec(e.pconn, itemsPG)
	topic := e.topic("peer")
	e.createTopic(topic, partitions)
	recs := peerRecords(t, file, topic)
	e.produce(recs)
	dir := t.TempDir()
	kinds := []string{"mysql", "postgres"}
	if ddlOnly {
		kinds = kinds[:1]
	}
	type target struct {
		kind string
		db   *sql.DB
		s    *svc
	}
	var targets []target
	for _, kind := range kinds {
		dsn, db := e.maria.DSN(e.mdb), e.mconn
		if kind == "postgres" {
			dsn, db = e.pg.DSN(e.pdb), e.pconn
		}
		cfg := writeFile(t, dir, kind+".yaml", fmt.Sprintf(`group: peers-%s
topics: [%q]
input: {format: %s}
target: {kind: %s, dsn: "${TARGET_DSN}"}
batch: {rows: 100, linger: 20ms}
consumer: {session_timeout: 6s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: info}
`, kind, topic, input, kind, e.brokers[0]))
		s := startSvc(t, "apply-"+kind, dir, append(os.Environ(), "TARGET_DSN="+dsn), bin, "run", "--config", cfg)
		targets = append(targets, target{kind, db, s})
	}
	ends := e.endOffsets(topic)
	for _, tg := range targets {
		if err := waitPeerApplied(t, tg.db, tg.kind, "peers-"+tg.kind, topic, ends, tg.s); err != nil {
			t.Errorf("%s target, input %s: %v", tg.kind, input, err)
			continue
		}
		got := itemsRows(t, tg.db, tg.kind)
		if ddlOnly {
			if len(got) == 0 || got[0][0] != "3" {
				t.Errorf("%s target: row 3, inserted after the DDL record, is missing: %q", tg.kind, got)
			}
			t.Logf("%s target: the DDL record was passed and the %d records around it applied", tg.kind, len(recs)-1)
			continue
		}
		if d := diffItems(got); len(d) > 0 {
			t.Errorf("%s target, input %s: %d differences from the expected rows:\n  %s", tg.kind, input, len(d), strings.Join(d, "\n  "))
			continue
		}
		t.Logf("%s target, input %s: %d records (%s) applied; rows 3, 5, 10 exactly as expected", tg.kind, input, len(recs), file)
	}
}

// waitPeerApplied waits until the target stored the end offset of every
// partition, or fails fast when apply stopped a partition.
func waitPeerApplied(t *testing.T, db *sql.DB, kind, group, topic string, ends map[int32]int64, s *svc) error {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		got := storedOffsets(t, db, kind, group, topic)
		done := true
		for p, end := range ends {
			if end > 0 && got[p] != end {
				done = false
			}
		}
		if done {
			return nil
		}
		if line := s.firstLog("partition stopped"); line != "" {
			return fmt.Errorf("apply stopped a partition (stored offsets %v, ends %v): %s", got, ends, line)
		}
		select {
		case <-s.Done():
			return fmt.Errorf("apply exited (%v):\n%s", s.Err(), s.tail(10))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not applied within 40s: stored offsets %v, ends %v\n%s", got, ends, s.tail(10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// firstLog returns "msg: error" of the first JSON log line whose msg
// starts with prefix ("" if none).
func (s *svc) firstLog(prefix string) string {
	f, err := os.Open(s.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg    string `json:"msg"`
			Error  string `json:"error"`
			Offset *int64 `json:"offset"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, prefix) {
			off := ""
			if l.Offset != nil {
				off = fmt.Sprintf(" (offset %d)", *l.Offset)
			}
			return l.Msg + off + ": " + l.Error
		}
	}
	return ""
}
