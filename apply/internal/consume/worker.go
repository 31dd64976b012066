package consume

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/decode"
	"github.com/sluice-cdc/sluice/apply/internal/mapping"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/obs"
	"github.com/sluice-cdc/sluice/pkg/retry"
)

// finishTimeout bounds how long a revoked or shutting-down worker may take
// to write its last batch before it abandons it (and commits nothing).
const finishTimeout = 30 * time.Second

// DLQ header names, on top of the original record's headers.
const (
	HeaderDLQError     = "sluice.dlq.error"
	HeaderDLQTopic     = "sluice.dlq.topic"
	HeaderDLQPartition = "sluice.dlq.partition"
	HeaderDLQOffset    = "sluice.dlq.offset"
)

// worker applies one partition, in order.
type worker struct {
	c         *Consumer
	topic     string
	partition int32
	ready     string // readiness check name

	in       chan []*kgo.Record
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	finished sync.Once

	dec    *decode.Decoder
	mapper *mapping.Mapper

	// The open batch.
	rows    []sink.Row
	recs    []*kgo.Record // every record of the batch, in offset order
	bytes   int
	from    int64
	next    int64
	epoch   int32
	skipped map[string]int

	skipBelow int64    // records before this offset are already applied
	stopped   error    // set when a fatal error stopped the partition
	waiting   *barrier // set while paused at a partition barrier
	// lastRefresh is when this worker last forced a metadata refresh
	// while waiting at a barrier.
	lastRefresh time.Time
}

func newWorker(c *Consumer, topic string, p int32) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	dec, _ := decode.New(c.cfg.Format) // format checked by Config.validate
	w := &worker{
		c: c, topic: topic, partition: p, ready: "partition " + topic + "/" + strconv.Itoa(int(p)),
		in: make(chan []*kgo.Record, 2), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		dec: dec, mapper: mapping.New(c.cfg.Mapping), skipped: map[string]int{}, from: -1, skipBelow: -1,
	}
	c.cl.ResumeFetchPartitions(map[string][]int32{topic: {p}})
	c.cfg.Ready.Set(w.ready, nil)
	return w
}

// finish closes the input; the worker writes and commits its batch and
// exits. If that takes longer than finishTimeout the batch is abandoned.
func (w *worker) finish() {
	w.finished.Do(func() { close(w.in) })
	select {
	case <-w.done:
	case <-time.After(finishTimeout):
		w.c.log.Warn("worker did not finish its batch in time; abandoning it (it will be redelivered)", obs.Topic(w.topic), obs.Partition(w.partition))
		w.cancel()
		<-w.done
	}
	w.c.cfg.Ready.Remove(w.ready)
	w.c.cfg.Metrics.Stopped(w.topic, w.partition, false)
}

// abandon stops the worker without committing anything.
func (w *worker) abandon() {
	w.cancel()
	w.finished.Do(func() { close(w.in) })
	<-w.done
	w.c.cfg.Ready.Remove(w.ready)
}

func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	armed := false
	catchUp := time.After(time.Second)
	barrierCheck := time.NewTicker(barrierPoll)
	defer barrierCheck.Stop()
	for {
		select {
		case <-barrierCheck.C:
			if w.waiting != nil {
				w.recheckBarrier()
			}
		case <-catchUp:
			if next, ok := w.c.takePending(tp{w.topic, w.partition}); ok && w.from < 0 && w.stopped == nil {
				w.epoch = -1
				w.commit(next)
			}
		case recs, ok := <-w.in:
			if !ok {
				if w.stopped == nil && w.ctx.Err() == nil {
					w.flush()
				}
				return
			}
			if w.stopped != nil || w.waiting != nil {
				continue // paused; what is still in flight is never committed, so redelivered later
			}
			for _, r := range recs {
				w.add(r)
				if w.stopped != nil || w.waiting != nil {
					break
				}
				if len(w.rows) >= w.c.cfg.BatchRows || w.bytes >= w.c.cfg.BatchBytes {
					w.flush()
				}
			}
			if !armed && w.from >= 0 && w.stopped == nil {
				linger.Reset(w.c.cfg.Linger)
				armed = true
			}
		case <-linger.C:
			armed = false
			if w.stopped == nil {
				w.flush()
			}
		case <-w.ctx.Done():
			return
		}
	}
}

// add decodes and maps one record into the open batch.
func (w *worker) add(r *kgo.Record) {
	if r.Offset < w.skipBelow {
		return
	}
	if b, ok, err := barrierOf(r); ok || err != nil {
		if err != nil {
			w.bad(r, "decode", err)
			return
		}
		if !w.atBarrier(b) {
			return // paused until every partition reached it
		}
	}
	if w.from < 0 {
		w.from = r.Offset
	}
	w.recs = append(w.recs, r)
	w.next, w.epoch = r.Offset+1, r.LeaderEpoch
	w.bytes += len(r.Value)

	var e event.Event
	skip, err := w.dec.Decode(r, &e)
	if err != nil {
		w.bad(r, "decode", fmt.Errorf("decoding record: %w", err))
		return
	}
	if skip != "" {
		w.skipped[skip]++
		if skip == decode.SkipDDL {
			// Rare and worth seeing: the source's schema changed, and the
			// target's schema is the operator's to change (DESIGN §6).
			w.c.log.Info("skipped a DDL record (apply does not replicate DDL)",
				obs.Topic(r.Topic), obs.Partition(r.Partition), obs.Offset(r.Offset))
		}
		return
	}
	w.rows = append(w.rows, sink.Row{})
	row := &w.rows[len(w.rows)-1]
	outcome, err := w.mapper.Map(&e, row)
	if err != nil || outcome == mapping.Filtered {
		w.rows = w.rows[:len(w.rows)-1]
		if err != nil {
			w.bad(r, "map", err)
		} else {
			w.skipped["filtered"]++
		}
		return
	}
	row.Topic, row.Partition, row.Offset = r.Topic, r.Partition, r.Offset
}

// bad handles a record that cannot be applied, per the error policy.
func (w *worker) bad(r *kgo.Record, kind string, err error) {
	w.c.cfg.Metrics.Error(kind)
	if w.c.cfg.OnError == PolicyDLQ {
		if derr := w.deadLetter(r, err); derr == nil {
			return
		} else {
			err = fmt.Errorf("%w (and moving it to the dead-letter topic failed: %v)", err, derr)
		}
	}
	// Stop: write what came before the bad record, then stop here. The bad
	// record and everything after it stay uncommitted.
	w.recs = w.recs[:len(w.recs)-1]
	w.next = r.Offset
	w.bytes -= len(r.Value)
	if len(w.recs) == 0 {
		w.from = -1
	}
	w.flush()
	w.stop(r.Offset, err)
}

func (w *worker) stop(offset int64, err error) {
	if w.stopped != nil {
		return
	}
	w.stopped = fmt.Errorf("partition %s/%d stopped at offset %d: %w", w.topic, w.partition, offset, err)
	w.c.cl.PauseFetchPartitions(map[string][]int32{w.topic: {w.partition}})
	w.c.cfg.Ready.Set(w.ready, w.stopped)
	w.c.cfg.Metrics.Stopped(w.topic, w.partition, true)
	w.c.log.Error("partition stopped by a record it cannot apply; fix the cause (or set on_error: dlq) and restart",
		obs.Topic(w.topic), obs.Partition(w.partition), obs.Offset(offset), zap.Error(err))
	w.reset()
}

func (w *worker) deadLetter(r *kgo.Record, cause error) error {
	hdrs := append([]kgo.RecordHeader(nil), r.Headers...)
	hdrs = append(hdrs,
		kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
	)
	dl := &kgo.Record{Topic: w.c.cfg.DLQTopic, Key: r.Key, Value: r.Value, Headers: hdrs}
	if err := w.c.cl.ProduceSync(w.ctx, dl).FirstErr(); err != nil {
		return err
	}
	w.c.cfg.Metrics.Error("dlq")
	w.c.log.Warn("record moved to the dead-letter topic", obs.Topic(r.Topic), obs.Partition(r.Partition), obs.Offset(r.Offset),
		zap.String("dlq_topic", w.c.cfg.DLQTopic), zap.Error(cause))
	return nil
}

// flush writes the open batch with its offset, retrying transient
// failures, then commits the Kafka offset.
func (w *worker) flush() {
	if w.from < 0 {
		return
	}
	b := retry.Backoff{Base: 100 * time.Millisecond, Max: w.c.cfg.RetryMax}
	for {
		off := sink.Offset{Group: w.c.cfg.Group, Topic: w.topic, Partition: w.partition, From: w.from, Next: w.next}
		start := time.Now()
		err := w.c.sink.Apply(w.ctx, w.rows, off)
		if err == nil {
			w.c.takePending(tp{w.topic, w.partition}) // this commit supersedes it
			w.c.cfg.Metrics.Batch(len(w.rows), time.Since(start).Seconds())
			w.applied()
			w.commit(off.Next)
			w.reset()
			return
		}
		if w.ctx.Err() != nil {
			return // abandoned: commit nothing
		}
		var rowErr *sink.RowError
		switch {
		case sink.Retryable(err):
			w.c.cfg.Metrics.Error("retry")
			d := b.Next()
			w.c.log.Warn("target write failed; retrying the batch", obs.Topic(w.topic), obs.Partition(w.partition),
				zap.Int64("from", w.from), zap.Duration("backoff", d), zap.Error(err))
			if retry.Sleep(w.ctx, d) != nil {
				return
			}
		case errors.Is(err, sink.ErrStale):
			w.restartFromTarget(err)
			return
		case errors.As(err, &rowErr) && rowErr.Row != nil:
			w.c.cfg.Metrics.Error("write")
			w.rowFailed(rowErr)
			if w.stopped != nil {
				return
			}
		default:
			w.c.cfg.Metrics.Error("write")
			w.stop(w.from, fmt.Errorf("applying batch to the target: %w", err))
			return
		}
	}
}

// rowFailed takes the failing row out of the batch (dlq) or cuts the batch
// before it and stops (stop).
func (w *worker) rowFailed(re *sink.RowError) {
	off := re.Row.Offset
	i := sort.Search(len(w.recs), func(i int) bool { return w.recs[i].Offset >= off })
	if i == len(w.recs) || w.recs[i].Offset != off {
		w.stop(w.from, re) // not a row of this batch: do not guess
		return
	}
	rec := w.recs[i]
	if w.c.cfg.OnError == PolicyDLQ {
		if err := w.deadLetter(rec, re); err == nil {
			keep := w.rows[:0]
			for _, r := range w.rows {
				if r.Offset != off {
					keep = append(keep, r)
				}
			}
			w.rows = keep
			return
		}
	}
	// Apply what precedes the bad record, then stop at it.
	cut := 0
	for cut < len(w.rows) && w.rows[cut].Offset < off {
		cut++
	}
	w.rows, w.recs, w.next = w.rows[:cut], w.recs[:i], off
	if len(w.recs) > 0 {
		w.flush()
	}
	w.stop(off, re)
}

// restartFromTarget handles ErrStale: another consumer applied past this
// batch. The batch is dropped and consumption resumes at the stored
// offset.
func (w *worker) restartFromTarget(cause error) {
	stored, err := w.c.sink.Offsets(w.ctx, w.c.cfg.Group, w.topic)
	next, ok := stored[w.partition]
	if err != nil || !ok {
		w.stop(w.from, fmt.Errorf("%w; and reading the stored offset failed: %v", cause, err))
		return
	}
	w.c.log.Warn("another consumer applied this partition further; resuming after its offset", obs.Topic(w.topic),
		obs.Partition(w.partition), zap.Int64("batch_from", w.from), zap.Int64("stored_next", next))
	w.c.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{w.topic: {w.partition: {Epoch: -1, Offset: next}}})
	w.skipBelow = next
	w.reset()
}

func (w *worker) applied() {
	if len(w.rows) > 0 {
		type k struct {
			table string
			op    event.Op
		}
		counts := map[k]int{}
		for i := range w.rows {
			r := &w.rows[i]
			counts[k{r.Schema + "." + r.Table, r.Op}]++
		}
		for key, n := range counts {
			w.c.cfg.Metrics.Applied(key.table, key.op, n)
		}
	}
	for reason, n := range w.skipped {
		for range n {
			w.c.cfg.Metrics.Skipped(w.topic, reason)
		}
	}
}

// commit records next in Kafka. A failure is not fatal: the target holds
// the offset, and adjustOffsets prefers it on the next assignment.
func (w *worker) commit(next int64) {
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	var cerr error
	w.c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{w.topic: {w.partition: {Epoch: w.epoch, Offset: next}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			cerr = err
			if err == nil && resp != nil {
				for _, t := range resp.Topics {
					for _, p := range t.Partitions {
						if p.ErrorCode != 0 {
							cerr = fmt.Errorf("offset commit error code %d", p.ErrorCode)
						}
					}
				}
			}
		})
	if cerr != nil {
		w.c.cfg.Metrics.Error("commit")
		w.c.log.Warn("committing the offset to Kafka failed; the target has it", obs.Topic(w.topic), obs.Partition(w.partition),
			zap.Int64("next", next), zap.Error(cerr))
	}
}

func (w *worker) reset() {
	clear(w.rows)
	w.rows, w.recs = w.rows[:0], w.recs[:0]
	w.bytes, w.from = 0, -1
	clear(w.skipped)
}
