// Package signals carries on-demand snapshot requests to a running
// capture through a Kafka control topic, <prefix>.signals (one partition,
// so requests keep their order).
//
// Why a Kafka topic and not a signal table in the source (Debezium's
// choice): a signal table needs a capture user with write privileges on
// the source and a table that exists there, and its rows would reach the
// binlog of every replica. The capture already needs Kafka write access,
// and the `capture snapshot` command needs only the config's Kafka
// settings. The capture reads the topic from the offset stored in its
// snapshot state (with its position, in the same Kafka transaction as the
// chunks), so a request is acted on exactly once across restarts.
//
// A request is a record keyed by the capture name with the value
// {"type":"snapshot","capture":"<name>","tables":["db.t",...],"ts_ms":n};
// requests for other captures on the same topic are skipped.
package signals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
)

// Topic is the signals topic of a topic prefix.
func Topic(prefix string) string { return prefix + ".signals" }

// request is the record value.
type request struct {
	Type    string   `json:"type"`
	Capture string   `json:"capture"`
	Tables  []string `json:"tables"`
	TsMs    int64    `json:"ts_ms"`
}

// Ensure creates the signals topic (one partition) if it is missing.
func Ensure(ctx context.Context, cl *kgo.Client, topic string, replication int16) error {
	adm := kadm.NewClient(cl)
	res, err := adm.CreateTopic(ctx, 1, replication, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !isExists(err) {
		return fmt.Errorf("creating the signals topic %s: %w", topic, err)
	}
	return nil
}

func isExists(err error) bool { return errors.Is(err, kerr.TopicAlreadyExists) }

// Send writes a snapshot request for capture and returns its offset.
func Send(ctx context.Context, opts []kgo.Opt, topic, capture string, replication int16, tables []string) (int64, error) {
	cl, err := kgo.NewClient(append(slices.Clone(opts), kgo.RequiredAcks(kgo.AllISRAcks()))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := Ensure(ctx, cl, topic, replication); err != nil {
		return 0, err
	}
	v, _ := json.Marshal(request{Type: "snapshot", Capture: capture, Tables: tables, TsMs: time.Now().UnixMilli()})
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(capture), Value: v})
	r, err := res.First()
	if err != nil {
		return 0, fmt.Errorf("sending the snapshot request to %s: %w", topic, err)
	}
	return r.Offset, nil
}

// Reader returns a binlog.SnapshotConfig.Signals function reading the
// topic for capture's requests.
func Reader(opts []kgo.Opt, topic, capture string, replication int16) func(ctx context.Context, from int64, out chan<- snapshot.Signal) error {
	return func(ctx context.Context, from int64, out chan<- snapshot.Signal) error {
		setup, err := kgo.NewClient(opts...)
		if err != nil {
			return err
		}
		err = Ensure(ctx, setup, topic, replication)
		setup.Close()
		if err != nil {
			return err
		}
		cl, err := kgo.NewClient(append(slices.Clone(opts),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(500*time.Millisecond))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return nil
			}
			var ferr error
			fs.EachError(func(_ string, _ int32, err error) { ferr = err })
			if ferr != nil && !errors.Is(ferr, context.Canceled) {
				return fmt.Errorf("reading %s: %w", topic, ferr)
			}
			for _, r := range fs.Records() {
				var req request
				if string(r.Key) != capture || json.Unmarshal(r.Value, &req) != nil || req.Type != "snapshot" || req.Capture != capture {
					continue
				}
				select {
				case out <- snapshot.Signal{Tables: req.Tables, Next: r.Offset + 1}:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
}
