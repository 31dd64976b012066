package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Values of the committed transactions: multibyte UTF-8, a tab, JSON.
var committedValues = []string{`{"id":1,"v":"a"}`, `{"id":2,"v":"ü😀"}`, `{"id":3,"v":"tab	here"}`, `{"id":4,"v":"ünïcödé"}`}

func createTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

// produceTx produces records in one transaction and commits or aborts it.
func produceTx(t *testing.T, cl *kgo.Client, commit bool, recs ...*kgo.Record) {
	t.Helper()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit=%v): %v", commit, err)
	}
}

func rec(key, value string) *kgo.Record { return &kgo.Record{Key: []byte(key), Value: []byte(value)} }

// consumeCommitted reads the topic from the start with read_committed until
// want records arrived, then polls once more briefly so that anything
// extra (an aborted record) would show up too.
func consumeCommitted(t *testing.T, brokers []string, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d committed records before the timeout", len(got), want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		got = append(got, fs.Records()...)
	}
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	return append(got, cl.PollFetches(short).Records()...)
}

// checkTransactions produces 2 committed, 1 aborted (3 records) and 2 more
// committed records through a transactional producer with acks=all; a
// read_committed consumer must see exactly the 4 committed ones, in order,
// byte for byte.
func checkTransactions(t *testing.T, k Kafka) (topic string) {
	topic = UniqueName(t)
	createTopic(t, k.Brokers(), topic)
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.TransactionalID("tx-"+topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produceTx(t, prod, true, rec("k1", committedValues[0]), rec("k2", committedValues[1]))
	produceTx(t, prod, false, rec("k9", `{"id":99,"v":"aborted"}`), rec("k8", `{"id":98}`), rec("k7", "aborted ü"))
	produceTx(t, prod, true, rec("k3", committedValues[2]), rec("k4", committedValues[3]))

	got := consumeCommitted(t, k.Brokers(), topic, len(committedValues))
	var values []string
	for i, r := range got {
		values = append(values, string(r.Value))
		if wantKey := fmt.Sprintf("k%d", i+1); string(r.Key) != wantKey {
			t.Errorf("record %d key %q, want %q", i, r.Key, wantKey)
		}
	}
	if !slices.Equal(values, committedValues) {
		t.Fatalf("read_committed consumer on %s got %q, want %q", k.Kind(), values, committedValues)
	}
	return topic
}

func TestKafkaTransactionsReadCommitted(t *testing.T) {
	k := SharedKafka(t)
	topic := checkTransactions(t, k)

	// kcat (librdkafka) reads the same topic as an independent client.
	t.Run("kcat", func(t *testing.T) {
		if k.Kind() != "real" {
			t.Skip("kcat reads the real broker only")
		}
		kcat, err := exec.LookPath("kcat")
		if err != nil {
			unavailable(t, "kcat", err)
		}
		out, err := exec.Command(kcat, "-b", k.Brokers()[0], "-C", "-t", topic, "-e", "-q",
			"-X", "isolation.level=read_committed", "-f", `%k\t%s\n`).CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		var want bytes.Buffer
		for i, v := range committedValues {
			fmt.Fprintf(&want, "k%d\t%s\n", i+1, v)
		}
		if !bytes.Equal(out, want.Bytes()) {
			t.Fatalf("kcat read\n%q\nwant\n%q", out, want.Bytes())
		}
	})
}

// TestKfakeTransactionsReadCommitted runs the same check on kfake: the
// harness switch (SLUICE_TEST_KAFKA=kfake) is only useful if tests pass
// unchanged on both.
func TestKfakeTransactionsReadCommitted(t *testing.T) {
	checkTransactions(t, NewKfake(t))
}

// TestHarnessLogsKafkaVersion: `make test` logs must show which broker the
// integration tests ran against.
func TestHarnessLogsKafkaVersion(t *testing.T) {
	k := SharedKafka(t)
	want := "Kafka version: " + KafkaVersion
	if k.Kind() == "kfake" {
		want = "SLUICE_TEST_KAFKA=kfake"
	} else if v := k.(*KafkaBroker).Version(); v != KafkaVersion {
		t.Errorf("broker printed version %q, want %q", v, KafkaVersion)
	}
	if !slices.ContainsFunc(Announced(), func(l string) bool { return strings.Contains(l, want) }) {
		t.Errorf("harness lines %q do not mention %q", Announced(), want)
	}
}

// TestKafkaKillRestart crashes a broker of its own between two committed
// transactions: after restart on the same log directory the committed
// records are all there and the same transactional id works again.
func TestKafkaKillRestart(t *testing.T) {
	k := NewKafka(t, KafkaOptions{})
	topic := checkTransactions(t, k)
	k.Kill()
	start := time.Now()
	if err := k.Restart(context.Background()); err != nil {
		t.Fatalf("restart after kill: %v", err)
	}
	t.Logf("restarted in %s", time.Since(start).Round(time.Millisecond))
	if k.Version() != KafkaVersion {
		t.Errorf("version after restart %q, want %q", k.Version(), KafkaVersion)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.TransactionalID("tx-"+topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produceTx(t, prod, true, rec("k5", "after restart ✓"))
	t.Logf("produced after restart in %s", time.Since(start).Round(time.Millisecond))
	got := consumeCommitted(t, k.Brokers(), topic, len(committedValues)+1)
	var values []string
	for _, r := range got {
		values = append(values, string(r.Value))
	}
	want := append(slices.Clone(committedValues), "after restart ✓")
	if !slices.Equal(values, want) {
		t.Fatalf("after kill and restart: %q, want %q", values, want)
	}
}
