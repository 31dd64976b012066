package status

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/app"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedKafka) }

// TestLag produces to two partitions, commits a Kafka offset for one,
// stores target offsets for both, and checks committed, stored, end and
// lag per partition, plus a stopped partition named by /readyz.
func TestLag(t *testing.T) {
	k, m := testenv.SharedKafka(t), testenv.SharedMariaDB(t)
	db := m.CreateDatabase(t)
	ctx := t.Context()
	topic, group := "status-"+testenv.UniqueName(t), "g-"+testenv.UniqueName(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 15 {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 3 / 2), Value: []byte(fmt.Sprint(i))})
	}
	// 10 records to partition 0, 5 to partition 1.
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	off := kadm.Offsets{}
	off.Add(kadm.Offset{Topic: topic, Partition: 0, At: 7, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, group, off); err != nil {
		t.Fatal(err)
	}

	var cfg app.Config
	cfg.SetDefaults()
	cfg.Group, cfg.Topics = group, []string{topic}
	cfg.Kafka.Brokers = k.Brokers()
	cfg.Target.Kind, cfg.Target.DSN = "mysql", config.Secret(m.DSN(db))
	sk, err := app.OpenSink(ctx, cfg.Target, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.SetOffsets(ctx, group, topic, map[int32]int64{0: 8, 1: 2}); err != nil {
		t.Fatal(err)
	}
	sk.Close()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready\npartition %s/1: partition %s/1 stopped at offset 2: column n: out of range\n", topic, topic)
	}))
	defer srv.Close()

	rep, err := Collect(ctx, &cfg, Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Logf("status:\n%s", b.String())
	if len(rep.Partitions) != 2 {
		t.Fatalf("got %d partitions, want 2", len(rep.Partitions))
	}
	want := []Partition{
		{Topic: topic, Partition: 0, Committed: 7, Stored: 8, End: 10, Lag: 2},
		{Topic: topic, Partition: 1, Committed: -1, Stored: 2, End: 5, Lag: 3,
			Stopped: fmt.Sprintf("partition %s/1 stopped at offset 2: column n: out of range", topic)},
	}
	for i, w := range want {
		if rep.Partitions[i] != w {
			t.Errorf("partition %d:\n got %+v\nwant %+v", i, rep.Partitions[i], w)
		}
	}
	if rep.TotalLag != 5 || rep.Ready == nil || rep.Ready.Ready || len(rep.Errors) != 0 {
		t.Errorf("total lag %d (want 5), readyz %+v, errors %q", rep.TotalLag, rep.Ready, rep.Errors)
	}
	if !strings.Contains(b.String(), "STOPPED: partition "+topic+"/1") {
		t.Error("the text does not show the stopped partition")
	}
	js, _ := json.Marshal(rep)
	if !strings.Contains(string(js), `"lag":2`) || strings.Contains(string(js), m.Password()) {
		t.Errorf("JSON: %s", js)
	}

	// A live member shows with its partitions.
	cons, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ClientID("apply-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pctx, cancel := context.WithTimeout(ctx, 20*1e9)
	defer cancel()
	for len(cons.PollRecords(pctx, 1).Records()) == 0 && pctx.Err() == nil {
	}
	rep, err = Collect(ctx, &cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Members) != 1 || len(rep.Members[0].Partitions) != 2 || rep.Partitions[0].Member == "" {
		t.Errorf("members %+v, partition 0 member %q", rep.Members, rep.Partitions[0].Member)
	}
}
