package repartition

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

func TestAddPartitionsFencesAndWritesBarriers(t *testing.T) {
	k := testenv.NewKfake(t)
	ctx := context.Background()
	seed := kgo.SeedBrokers(k.Brokers()...)
	admCl, err := kgo.NewClient(seed)
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	const topic = "sluice.shop.orders"
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	// A running capture with an open transaction.
	capture, err := kgo.NewClient(seed, kgo.TransactionalID("sluice-capture-x"), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	if err := capture.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := capture.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	res, err := AddPartitions(ctx, []kgo.Opt{seed}, "sluice-capture-x", topic, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != 2 || res.To != 4 || len(res.Offsets) != 4 || res.Barrier == "" {
		t.Fatalf("result %+v", res)
	}
	// The capture is fenced: its transaction cannot commit.
	err = capture.EndTransaction(ctx, kgo.TryCommit)
	if err == nil || !(errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.ProducerFenced) || strings.Contains(err.Error(), "FENCED") || strings.Contains(err.Error(), "EPOCH")) {
		t.Fatalf("capture's commit after add-partitions: %v, want fenced", err)
	}
	// Every partition ends with the committed barrier, visible to
	// read_committed consumers; the fenced capture's record is not.
	cons, err := kgo.NewClient(seed, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := map[int32]barrier{}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for len(got) < 4 && cctx.Err() == nil {
		cons.PollFetches(cctx).EachRecord(func(r *kgo.Record) {
			if len(r.Headers) != 1 || r.Headers[0].Key != HeaderControl {
				t.Errorf("partition %d offset %d: not a barrier record (%q)", r.Partition, r.Offset, r.Value)
				return
			}
			var b barrier
			if err := json.Unmarshal(r.Value, &b); err != nil {
				t.Fatal(err)
			}
			got[r.Partition] = b
		})
	}
	for p := range int32(4) {
		if b := got[p]; b.ID != res.Barrier || b.Partitions != 4 {
			t.Errorf("partition %d barrier %+v, want id %s partitions 4", p, b, res.Barrier)
		}
	}

	if _, err := AddPartitions(ctx, []kgo.Opt{seed}, "sluice-capture-x", topic, 3, false); err == nil || !strings.Contains(err.Error(), "already has 4") {
		t.Errorf("shrinking: %v", err)
	}
	if _, err := AddPartitions(ctx, []kgo.Opt{seed}, "sluice-capture-x", topic, 5, true); err == nil || !strings.Contains(err.Error(), "barrier-only") {
		t.Errorf("barrier-only with another count: %v", err)
	}
	if res, err := AddPartitions(ctx, []kgo.Opt{seed}, "sluice-capture-x", topic, 4, true); err != nil || len(res.Offsets) != 4 {
		t.Errorf("barrier-only: %+v %v", res, err)
	}
}
