package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

func TestMain(m *testing.M) { Main(m) }

func TestMariaDBBinlogSettings(t *testing.T) {
	m := SharedMariaDB(t)
	db, err := m.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{
		"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL",
		"binlog_row_metadata": "FULL", "gtid_strict_mode": "ON", "character_set_server": "utf8mb4",
		"log_slave_updates": "ON",
	}
	for name, v := range want {
		var got string
		if err := db.QueryRow("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = ?", strings.ToUpper(name)).Scan(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
}

// TestMariaDBAllTypesFixture proves the shared fixture's SQL is what a real
// server accepts and stores: capture tests depend on it.
func TestMariaDBAllTypesFixture(t *testing.T) {
	m := SharedMariaDB(t)
	ctx := context.Background()
	name := m.CreateDatabase(t)
	db, err := m.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{"SET SESSION sql_mode=''", "SET SESSION time_zone='+00:00'", eventtest.CreateTableSQL(name, eventtest.Table)}
	for r := range 4 {
		stmts = append(stmts, eventtest.InsertSQL(name, eventtest.Table, r))
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	// Read back as text: every edge value is stored exactly.
	checks := []struct{ col, id, want string }{
		{"c_bigint_u", "2", "18446744073709551615"},
		{"c_bigint", "1", "-9223372036854775808"},
		{"c_dec65", "1", "-99999999999999999999999999999999999.999999999999999999999999999999"},
		{"c_dt6", "2", "9999-12-31 23:59:59.999999"},
		{"c_ts6", "2", "2038-01-19 03:14:07.999999"},
		{"c_time6", "1", "-838:59:59.000000"},
		{"c_date", "4", "0000-00-00"},
		{"c_varchar", "2", "ünïcödé 😀🎉 \"q\" \\ end"},
		{"HEX(c_binary)", "2", "00FF0001"},
		{"HEX(c_blob)", "2", "0000626C6F6200"},
		{"c_set", "2", "a,c"},
		{"c_enum", "1", ""},
		{"CAST(c_bit64 AS UNSIGNED)", "2", "18446744073709551615"},
	}
	for _, c := range checks {
		var got string
		q := fmt.Sprintf("SELECT %s FROM `%s`.`%s` WHERE id = %s", c.col, name, eventtest.Table, c.id)
		if err := conn.QueryRowContext(ctx, q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got != c.want {
			t.Errorf("%s of row %s = %q, want %q", c.col, c.id, got, c.want)
		}
	}
	var nulls int
	if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM `%s`.`%s` WHERE id = 3 AND c_int IS NULL AND c_json IS NULL AND c_set IS NULL", name, eventtest.Table)).Scan(&nulls); err != nil || nulls != 1 {
		t.Errorf("row 3 should be NULL in every nullable column (count %d, err %v)", nulls, err)
	}
	after, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Errorf("GTID position did not advance after writes: %q", after)
	}
	if file, pos, err := m.BinlogPosition(ctx); err != nil || file == "" || pos == 0 {
		t.Errorf("BinlogPosition = %q, %d, %v", file, pos, err)
	}
}

func TestPostgres(t *testing.T) {
	p := SharedPostgres(t)
	ctx := context.Background()
	name := p.CreateDatabase(t)
	c, err := p.Connect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE t (id bigint PRIMARY KEY, v text, d numeric(65,30))"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO t VALUES ($1, $2, $3)", 1, "ünï 😀", "-99999999999999999999999999999999999.999999999999999999999999999999"); err != nil {
		t.Fatal(err)
	}
	var v, d string
	if err := c.QueryRow(ctx, "SELECT v, d::text FROM t WHERE id = 1").Scan(&v, &d); err != nil {
		t.Fatal(err)
	}
	if v != "ünï 😀" || d != "-99999999999999999999999999999999999.999999999999999999999999999999" {
		t.Errorf("round trip = %q, %q", v, d)
	}
}

// produceTx produces values in one transaction, committed or aborted.
func produceTx(t *testing.T, cl *kgo.Client, topic string, commit bool, values ...string) {
	t.Helper()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		rec := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(v)}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit=%v): %v", commit, err)
	}
}

// TestKafkaTransactionsReadCommitted produces a committed and an aborted
// transaction; a read_committed consumer must see exactly the committed
// records, in order, with exact bytes, and so must kcat, an independent
// client.
func TestKafkaTransactionsReadCommitted(t *testing.T) {
	k := SharedKafka(t)
	if kb, ok := k.(*KafkaBroker); ok {
		t.Logf("real broker, Kafka version: %s", kb.Version())
		if kb.Version() != KafkaVersion {
			t.Errorf("broker version %q, want %q", kb.Version(), KafkaVersion)
		}
	}
	ctx := context.Background()
	topic := UniqueName(t)
	admCl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	if _, err := kadm.NewClient(admCl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}

	prod, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.TransactionalID("tx-"+topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	committed := []string{`{"id":1,"v":"a"}`, `{"id":2,"v":"ü😀"}`, `{"id":3,"v":"tab\there"}`}
	produceTx(t, prod, topic, true, committed[:2]...)
	produceTx(t, prod, topic, false, `{"id":99,"v":"aborted"}`, `{"id":98}`)
	produceTx(t, prod, topic, true, committed[2:]...)

	cons, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []string
	deadline, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for len(got) < len(committed) {
		fs := cons.PollFetches(deadline)
		if err := deadline.Err(); err != nil {
			t.Fatalf("consumed %d of %d committed records before timeout: %q", len(got), len(committed), got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	// One more short poll: nothing of the aborted transaction may follow.
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	cons.PollFetches(short).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	if strings.Join(got, "\n") != strings.Join(committed, "\n") {
		t.Fatalf("read_committed consumer got %q, want %q", got, committed)
	}

	t.Run("kcat", func(t *testing.T) {
		if k.Kind() != "real" {
			t.Skip("kcat reads the real broker only")
		}
		kcat, err := exec.LookPath("kcat")
		if err != nil {
			unavailable(t, "kcat", err)
		}
		out, err := exec.Command(kcat, "-b", k.Brokers()[0], "-C", "-t", topic, "-e", "-q",
			"-X", "isolation.level=read_committed", "-f", "%k\t%s\n").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		want := "k0\t" + committed[0] + "\nk1\t" + committed[1] + "\nk0\t" + committed[2] + "\n"
		if !bytes.Equal(out, []byte(want)) {
			t.Fatalf("kcat read %q, want %q", out, want)
		}
	})
}
