// Package repartition grows a capture topic's partition count without
// breaking per-key order (G2). Adding partitions moves keys: a key's older
// changes stay in its old partition while its newer ones go to a new
// partition, and consumers could apply them out of order. AddPartitions
// fences the capture (so nothing is written with the old partition count
// afterwards), adds the partitions, and writes one barrier record into
// every partition in a single Kafka transaction. apply pauses each
// partition at its barrier until all of them reached it (see
// apply/internal/consume), so every pre-change record of every key is
// applied before any post-change one.
package repartition

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/publish"
)

// Barrier record header and value, as apply reads them.
const (
	HeaderControl  = "sluice.control"
	ControlBarrier = "barrier"
)

type barrier struct {
	ID         string `json:"id"`
	Partitions int32  `json:"partitions"`
}

// Result says what AddPartitions did.
type Result struct {
	Barrier  string
	From, To int32
	// Offsets are the barrier records' offsets by partition.
	Offsets map[int32]int64
}

// AddPartitions grows topic to n partitions. transactionalID must be the
// capture's: taking it fences a running capture, which then exits (stop it
// first; start it again afterwards, and it resumes from its stored
// position with the new partition count).
//
// With barrierOnly, no partition is added (n must equal the current
// count): it writes the barrier of an earlier run whose last step failed.
func AddPartitions(ctx context.Context, opts []kgo.Opt, transactionalID, topic string, n int32, barrierOnly bool) (Result, error) {
	res := Result{To: n, Offsets: map[int32]int64{}}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), opts...),
		kgo.TransactionalID(transactionalID), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionTimeout(time.Minute))...)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return res, fmt.Errorf("describing %s: %w", topic, err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		return res, fmt.Errorf("topic %s not found (%v)", topic, d.Err)
	}
	res.From = int32(len(d.Partitions))
	if barrierOnly {
		if n != res.From {
			return res, fmt.Errorf("--barrier-only: topic %s has %d partitions, not %d", topic, res.From, n)
		}
	} else if n <= res.From {
		return res, fmt.Errorf("topic %s already has %d partitions; Kafka can only add partitions (want more than %d)", topic, res.From, res.From)
	}

	// Fence the capture first: from here on no record is written with the
	// old partition count.
	if err := publish.Fence(ctx, cl, transactionalID, time.Minute, zap.NewNop()); err != nil {
		return res, err
	}
	if !barrierOnly {
		resp, err := adm.CreatePartitions(ctx, int(n-res.From), topic)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return res, fmt.Errorf("adding %d partitions to %s: %w", n-res.From, topic, err)
		}
	}
	if err := waitPartitions(ctx, cl, topic, n); err != nil {
		return res, err
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	res.Barrier = fmt.Sprintf("%d-%s", time.Now().UnixMilli(), hex.EncodeToString(id))
	val, _ := json.Marshal(barrier{ID: res.Barrier, Partitions: n})
	if err := cl.BeginTransaction(); err != nil {
		return res, fmt.Errorf("beginning the barrier transaction: %w", err)
	}
	var recs []*kgo.Record
	for p := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: val,
			Headers: []kgo.RecordHeader{{Key: HeaderControl, Value: []byte(ControlBarrier)}}})
	}
	results := cl.ProduceSync(ctx, recs...)
	if err := results.FirstErr(); err != nil {
		_ = cl.AbortBufferedRecords(ctx)
		_ = cl.EndTransaction(ctx, kgo.TryAbort)
		return res, fmt.Errorf("writing the barrier records: %w; the partitions were added but apply has no barrier: keep capture stopped and run add-partitions --barrier-only to write it", err)
	}
	for _, r := range results {
		res.Offsets[r.Record.Partition] = r.Record.Offset
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return res, fmt.Errorf("committing the barrier records: %w", err)
	}
	return res, nil
}

func waitPartitions(ctx context.Context, cl *kgo.Client, topic string, n int32) error {
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(30 * time.Second)
	for {
		cl.ForceMetadataRefresh()
		td, err := adm.ListTopics(ctx, topic)
		if err == nil && int32(len(td[topic].Partitions)) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s does not show %d partitions after 30s", topic, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
