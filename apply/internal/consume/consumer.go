package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Consumer is one member of an apply group.
type Consumer struct {
	cfg  Config
	sink sink.Sink
	log  *zap.Logger
	cl   *kgo.Client

	mu      sync.Mutex
	workers map[tp]*worker
	// pending are target offsets ahead of Kafka's found at assignment; the
	// partition's worker commits them to Kafka if it has nothing newer to
	// commit, so Kafka's view (lag, replay) catches up with the target.
	pending map[tp]int64
}

type tp struct {
	topic     string
	partition int32
}

// New checks cfg and builds the group client. It does not contact the
// brokers.
func New(cfg Config, s sink.Sink) (*Consumer, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	c := &Consumer{cfg: cfg, sink: s, log: cfg.Logger, workers: map[tp]*worker{}, pending: map[tp]int64{}}
	opts := append([]kgo.Opt(nil), cfg.ClientOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.AdjustFetchOffsetsFn(c.adjustOffsets),
		// Memory (G7): records pin their whole decompressed batch until
		// the worker has written them, and JSON compresses ~10x, so what a
		// fetch may bring is multiplied by the records queued per
		// partition. Small fetches keep that bounded well below franz-go's
		// 50 MiB default without costing throughput.
		kgo.FetchMaxBytes(8<<20),
		kgo.FetchMaxPartitionBytes(512<<10),
	)
	if cfg.TopicRegex {
		opts = append(opts, kgo.ConsumeRegex())
	}
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout))
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	if cfg.TopicRefresh > 0 {
		opts = append(opts, kgo.MetadataMaxAge(cfg.TopicRefresh))
		if cfg.TopicRefresh < 5*time.Second { // franz-go's default minimum
			opts = append(opts, kgo.MetadataMinAge(cfg.TopicRefresh))
		}
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating consumer client: %w", err)
	}
	c.cl = cl
	return c, nil
}

// Run consumes until ctx ends, then stops gracefully: workers finish and
// commit their batches, and the member leaves the group. It returns an
// error only for failures of the consumer as a whole; a partition stopped
// by a bad record does not end Run (the process stays up, readiness
// fails).
func (c *Consumer) Run(ctx context.Context) error {
	defer c.cl.Close()
	var runErr error
	for {
		fetches := c.cl.PollRecords(ctx, c.cfg.BatchRows)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			c.log.Warn("fetch error", obs.Topic(t), obs.Partition(p), zap.Error(err))
			c.cfg.Metrics.Error("fetch")
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			c.mu.Lock()
			w := c.workers[tp{p.Topic, p.Partition}]
			c.mu.Unlock()
			if w == nil {
				return // not ours any more; never committed, so redelivered
			}
			c.cfg.Metrics.Lag(p.Topic, p.Partition, p.HighWatermark-p.Records[len(p.Records)-1].Offset-1)
			select {
			case w.in <- p.Records:
			case <-w.ctx.Done():
			}
		})
		c.cl.AllowRebalance()
	}
	// Shutdown: workers flush and commit while the partitions are still
	// ours, then Close leaves the group.
	c.mu.Lock()
	ws := make([]*worker, 0, len(c.workers))
	for k, w := range c.workers {
		ws = append(ws, w)
		delete(c.workers, k)
	}
	c.mu.Unlock()
	for _, w := range ws {
		w.finish()
	}
	c.cl.AllowRebalance()
	return runErr
}

func (c *Consumer) assigned(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for topic, ps := range parts {
		for _, p := range ps {
			k := tp{topic, p}
			if c.workers[k] != nil {
				continue
			}
			w := newWorker(c, topic, p)
			c.workers[k] = w
			go w.run()
			c.log.Info("partition assigned", obs.Topic(topic), obs.Partition(p))
		}
	}
}

// revoked runs before the partitions go to another member: the workers
// finish their batches and commit while the partitions are still ours.
func (c *Consumer) revoked(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	for _, w := range c.take(parts) {
		w.finish()
		c.log.Info("partition revoked", obs.Topic(w.topic), obs.Partition(w.partition))
	}
}

// lost runs when the partitions are already someone else's (session
// expired): the workers abandon their batches and commit nothing.
func (c *Consumer) lost(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	for _, w := range c.take(parts) {
		w.abandon()
		c.log.Warn("partition lost; its uncommitted batch is left for the new owner", obs.Topic(w.topic), obs.Partition(w.partition))
	}
}

func (c *Consumer) take(parts map[string][]int32) []*worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*worker
	for topic, ps := range parts {
		for _, p := range ps {
			if w := c.workers[tp{topic, p}]; w != nil {
				out = append(out, w)
				delete(c.workers, tp{topic, p})
			}
		}
	}
	return out
}

// adjustOffsets starts each assigned partition at the target's stored
// offset when that is ahead of Kafka's: the crash fell after the target
// transaction and before the Kafka commit.
func (c *Consumer) adjustOffsets(ctx context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	for topic, ps := range offs {
		stored, err := c.sink.Offsets(ctx, c.cfg.Group, topic)
		if err != nil {
			return nil, fmt.Errorf("reading stored offsets of %s from the target: %w", topic, err)
		}
		for p, o := range ps {
			next, ok := stored[p]
			if !ok {
				continue
			}
			if kafkaNext := o.EpochOffset().Offset; next > kafkaNext {
				c.log.Info("resuming from the target's stored offset", obs.Topic(topic), obs.Partition(p),
					zap.Int64("kafka_offset", kafkaNext), zap.Int64("target_offset", next))
				ps[p] = kgo.NewOffset().At(next).WithEpoch(-1)
				c.mu.Lock()
				c.pending[tp{topic, p}] = next
				c.mu.Unlock()
			}
		}
	}
	return offs, nil
}

// takePending returns and forgets the pending commit of a partition.
func (c *Consumer) takePending(k tp) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, ok := c.pending[k]
	delete(c.pending, k)
	return next, ok
}
