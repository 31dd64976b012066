package e2e

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/apply/internal/consume"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

// poison returns the three kinds of bad record the issue names, each
// between good ones: malformed JSON, a column type apply does not know,
// and a column the target table does not have.
func poison(t *testing.T, topic string, a *accounts) (recs []*kgo.Record, bad []int) {
	add := func(r ...*kgo.Record) { recs = append(recs, r...) }
	add(a.records(t, topic, 5)...)
	bad = append(bad, len(recs))
	add(&kgo.Record{Topic: topic, Key: []byte(`{"database":"shop","table":"accounts","pk.id":1}`), Value: []byte(`{"database":"shop","table":"accounts","type":"insert","data":{"id":1,`)})
	add(a.records(t, topic, 5)...)
	bad = append(bad, len(recs))
	// A key outside the generator's range, so the expected state does not
	// count the change.
	unknown := records(t, topic, &maxwell.Encoder{}, []event.Event{{Op: event.OpInsert, Database: "shop", Table: "accounts", Key: []int{0},
		Columns: accountCols, After: []event.Value{event.IntValue(5000), event.IntValue(1), event.DecimalValue("1.00"), event.StringValue("x")}}})[0]
	for i, h := range unknown.Headers {
		if h.Key == format.HeaderTypes {
			unknown.Headers[i].Value = []byte(strings.Replace(string(h.Value), "varchar(64)", "frobnicate(64)", 1))
		}
	}
	add(unknown)
	add(a.records(t, topic, 5)...)
	bad = append(bad, len(recs))
	extra := event.Event{Op: event.OpInsert, Database: "shop", Table: "accounts", Key: []int{0},
		Columns: append(slices.Clone(accountCols), event.Column{Name: "nickname", Type: "varchar(10)", Kind: event.String}),
		After:   []event.Value{event.IntValue(999), event.IntValue(1), event.DecimalValue("1.00"), event.StringValue("x"), event.StringValue("nick")}}
	add(records(t, topic, &maxwell.Encoder{}, []event.Event{extra})...)
	add(a.records(t, topic, 5)...)
	return recs, bad
}

func TestPoisonStopsThePartition(t *testing.T) {
	e := newEnv(t)
	e.exec(e.mconn, accountsMaria)
	topic := e.topic("accounts")
	e.createTopic(topic, 1)
	recs, bad := poison(t, topic, newAccounts(3, 1000))
	e.produce(recs)
	r := e.runApply(e.applyConfig("mysql", "poison-stop", topic))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got := storedOffsets(t, e.mconn, "mysql", "poison-stop", topic); got[0] == int64(bad[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition did not stop at offset %d", bad[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get("http://" + r.metrics + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), topic+"/0") || !strings.Contains(string(body), "offset 5") {
		t.Fatalf("/readyz = %d %q; want 503 naming the partition and offset", resp.StatusCode, body)
	}
	if metric(t, r.metrics, "sluice_apply_partition_stopped") != 1 {
		t.Error("sluice_apply_partition_stopped is not 1")
	}
	time.Sleep(300 * time.Millisecond)
	if got := storedOffsets(t, e.mconn, "mysql", "poison-stop", topic); got[0] != int64(bad[0]) {
		t.Fatalf("stored offset moved past the bad record: %v", got)
	}
}

func TestPoisonGoesToDLQ(t *testing.T) {
	e := newEnv(t)
	e.exec(e.mconn, accountsMaria)
	topic, dlq := e.topic("accounts"), e.topic("dlq")
	e.createTopic(topic, 1)
	e.createTopic(dlq, 1)
	a := newAccounts(4, 1000)
	recs, bad := poison(t, topic, a)
	e.produce(recs)
	cfg := e.applyConfig("mysql", "poison-dlq", topic)
	cfg.OnError, cfg.DLQTopic = consume.PolicyDLQ, dlq
	e.runApply(cfg)
	e.waitApplied(e.mconn, "mysql", "poison-dlq", topic)
	// Every good change is in the target; nothing else was lost.
	if got, want := rowsText(t, e.mconn, accountsQuery), a.expected(); !slices.Equal(got, want) {
		t.Fatalf("target differs from the good changes:\n got  %q\n want %q", got, want)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < len(bad) && ctx.Err() == nil {
		got = append(got, cl.PollFetches(ctx).Records()...)
	}
	if len(got) != len(bad) {
		t.Fatalf("DLQ holds %d records, want %d", len(got), len(bad))
	}
	wants := []string{"decoding record", "frobnicate", "nickname"}
	for i, r := range got {
		var errText, off string
		for _, h := range r.Headers {
			switch h.Key {
			case consume.HeaderDLQError:
				errText = string(h.Value)
			case consume.HeaderDLQOffset:
				off = string(h.Value)
			}
		}
		if string(r.Value) != string(recs[bad[i]].Value) {
			t.Errorf("DLQ record %d does not hold the original bytes", i)
		}
		if !strings.Contains(errText, wants[i]) {
			t.Errorf("DLQ record %d (offset %s) error %q does not name %q", i, off, errText, wants[i])
		}
	}
}
