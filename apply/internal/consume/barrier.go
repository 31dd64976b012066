package consume

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Partition barriers keep per-key order (G2) when a topic gains
// partitions. Keys move to other partitions, so a key's older changes sit
// in its old partition and its newer ones in a new partition. The command
// that adds partitions (capture add-partitions) writes, with capture
// stopped, one barrier record into every partition of the new count, in
// one Kafka transaction; everything before a barrier was partitioned by the
// old count, everything after by the new one.
//
// A worker reaching a barrier writes what precedes it, records in the
// target that its partition reached the barrier, and pauses until every
// partition of the topic has: only then can no older change of any key
// still be waiting in another partition. The record of who reached the
// barrier lives in the target's offsets table under the pseudo-topic
// "<topic>#barrier:<id>", so it survives restarts and is shared by every
// apply replica of the group.

// Barrier record header and value.
const (
	HeaderControl  = "sluice.control"
	ControlBarrier = "barrier"
)

// Barrier is the value of a barrier record.
type Barrier struct {
	ID         string `json:"id"`
	Partitions int32  `json:"partitions"`
}

type barrier struct {
	Barrier
	offset int64
}

// barrierRefresh spaces the metadata refreshes of a waiting worker.
const barrierRefresh = 3 * time.Second

// barrierPoll is how often a paused worker checks the other partitions.
const barrierPoll = 200 * time.Millisecond

func barrierOf(r *kgo.Record) (barrier, bool, error) {
	for _, h := range r.Headers {
		if h.Key == HeaderControl && string(h.Value) == ControlBarrier {
			var b barrier
			if err := json.Unmarshal(r.Value, &b.Barrier); err != nil || b.ID == "" || b.Partitions < 1 {
				return b, true, fmt.Errorf("barrier record: want {\"id\":...,\"partitions\":n}, got %q", r.Value)
			}
			b.offset = r.Offset
			return b, true, nil
		}
	}
	return barrier{}, false, nil
}

func barrierTopic(topic, id string) string { return topic + "#barrier:" + id }

// atBarrier handles a barrier record at the head of the stream. It returns
// true when every partition has reached the barrier and the record can
// pass (as a skipped record); false when the worker paused.
func (w *worker) atBarrier(b barrier) bool {
	// What precedes the barrier is written first.
	if w.from >= 0 {
		w.flush()
		if w.stopped != nil {
			return false
		}
	}
	key := barrierTopic(w.topic, b.ID)
	for {
		err := w.c.sink.SetOffsets(w.ctx, w.c.cfg.Group, key, map[int32]int64{w.partition: b.offset})
		if err == nil {
			break
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.c.log.Warn("recording the barrier in the target failed; retrying", obs.Topic(w.topic), obs.Partition(w.partition), zap.Error(err))
		select {
		case <-time.After(time.Second):
		case <-w.ctx.Done():
			return false
		}
	}
	if w.barrierDone(b) {
		return true
	}
	w.c.log.Info("partition at a barrier; waiting for every partition of the topic to reach it",
		obs.Topic(w.topic), obs.Partition(w.partition), obs.Offset(b.offset), zap.String("barrier", b.ID), zap.Int32("partitions", b.Partitions))
	w.waiting = &b
	w.c.cl.PauseFetchPartitions(map[string][]int32{w.topic: {w.partition}})
	w.reset()
	w.refreshForNewPartitions()
	return false
}

// refreshForNewPartitions reads metadata now rather than at the next
// periodic refresh: the group's leader assigns added partitions only once
// its metadata shows them, and until then the old partitions wait at the
// barrier for partitions nobody consumes.
func (w *worker) refreshForNewPartitions() {
	if time.Since(w.lastRefresh) < barrierRefresh {
		return
	}
	w.lastRefresh = time.Now()
	w.c.cl.ForceMetadataRefresh()
}

func (w *worker) barrierDone(b barrier) bool {
	got, err := w.c.sink.Offsets(w.ctx, w.c.cfg.Group, barrierTopic(w.topic, b.ID))
	if err != nil {
		return false
	}
	for p := range b.Partitions {
		if _, ok := got[p]; !ok {
			return false
		}
	}
	return true
}

// recheckBarrier resumes the partition from the barrier record once every
// partition reached it; re-reading the record then lets it pass.
func (w *worker) recheckBarrier() {
	b := *w.waiting
	if !w.barrierDone(b) {
		w.refreshForNewPartitions()
		return
	}
	w.waiting = nil
	w.skipBelow = b.offset
	w.c.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{w.topic: {w.partition: {Epoch: -1, Offset: b.offset}}})
	w.c.cl.ResumeFetchPartitions(map[string][]int32{w.topic: {w.partition}})
	w.c.log.Info("barrier passed", obs.Topic(w.topic), obs.Partition(w.partition), zap.String("barrier", b.ID))
}
