package kafka

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// The admin tests run on the shared real broker (or kfake with
// SLUICE_TEST_KAFKA=kfake); the client tests use kfake for SASL and TLS.
func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedKafka) }

func admin(t *testing.T) *kadm.Client {
	t.Helper()
	k := testenv.SharedKafka(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func topicConfig(t *testing.T, adm *kadm.Client, topic, key string) string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c.MaybeValue()
		}
	}
	t.Fatalf("topic %s has no config %s", topic, key)
	return ""
}

func TestEnsureTopic(t *testing.T) {
	adm := admin(t)
	ctx := context.Background()
	name := testenv.UniqueName(t)
	cfgs := TopicConfigs("zstd", 1, map[string]string{"retention.ms": "3600000"})
	res, err := EnsureTopic(ctx, adm, name, 3, 1, cfgs)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Partitions != 3 || res.Note != "" {
		t.Fatalf("first EnsureTopic = %+v, want created with 3 partitions", res)
	}
	for k, want := range map[string]string{"compression.type": "zstd", "min.insync.replicas": "1", "retention.ms": "3600000"} {
		if got := topicConfig(t, adm, name, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Idempotent: the same call again finds the topic.
	res, err = EnsureTopic(ctx, adm, name, 3, 1, cfgs)
	if err != nil || res.Created || res.Partitions != 3 || res.Note != "" {
		t.Fatalf("second EnsureTopic = %+v, %v", res, err)
	}
	// More partitions configured than the topic has: left alone, noted.
	res, err = EnsureTopic(ctx, adm, name, 6, 1, cfgs)
	if err != nil || res.Created || res.Partitions != 3 || !strings.Contains(res.Note, "3 partitions, fewer than the configured 6") {
		t.Fatalf("EnsureTopic with 6 partitions on a 3-partition topic = %+v, %v", res, err)
	}
	td, err := adm.ListTopics(ctx, name)
	if err != nil || len(td[name].Partitions) != 3 {
		t.Fatalf("topic has %d partitions after EnsureTopic(6) (err %v); it must not change", len(td[name].Partitions), err)
	}
	// A refused creation names the topic and the settings.
	_, err = EnsureTopic(ctx, adm, testenv.UniqueName(t), 1, 3, TopicConfigs("zstd", 0, nil))
	if err == nil || !strings.Contains(err.Error(), "replication factor 3, configs {compression.type=zstd}") {
		t.Fatalf("bad config: err = %v", err)
	}
}

func TestEnsureCompactedTopic(t *testing.T) {
	adm := admin(t)
	ctx := context.Background()
	name := testenv.UniqueName(t)
	res, err := EnsureCompactedTopic(ctx, adm, name, 1, TopicConfigs("zstd", 0, nil))
	if err != nil || !res.Created || res.Partitions != 1 {
		t.Fatalf("EnsureCompactedTopic = %+v, %v", res, err)
	}
	if got := topicConfig(t, adm, name, "cleanup.policy"); got != "compact" {
		t.Fatalf("cleanup.policy = %q, want compact", got)
	}
	if res, err = EnsureCompactedTopic(ctx, adm, name, 1, nil); err != nil || res.Created {
		t.Fatalf("second EnsureCompactedTopic = %+v, %v", res, err)
	}
	// An existing positions topic that is not compacted is refused.
	plain := testenv.UniqueName(t)
	if _, err := EnsureTopic(ctx, adm, plain, 1, 1, TopicConfigs("", 0, map[string]string{"cleanup.policy": "delete"})); err != nil {
		t.Fatal(err)
	}
	_, err = EnsureCompactedTopic(ctx, adm, plain, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy=delete") {
		t.Fatalf("non-compacted positions topic: err = %v", err)
	}
}
