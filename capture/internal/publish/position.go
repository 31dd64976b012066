package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
	"github.com/sluice-cdc/sluice/pkg/retry"
)

// LastPosition fences earlier instances (first call only; see the package
// comment), ensures the positions topic and returns this capture's last
// committed position. ok is false when none was ever stored (or it was
// deleted with a tombstone).
func (p *Publisher) LastPosition(ctx context.Context) (pos string, ok bool, err error) {
	if !p.cfg.NoTransactions && !p.fenced {
		if err := p.fence(ctx); err != nil {
			return "", false, err
		}
		p.fenced = true
	}
	if err := p.ensurePositionsTopic(ctx); err != nil {
		return "", false, err
	}
	p.storedSnap = ""
	pos, ok, err = p.readPosition(ctx)
	if err != nil {
		return "", false, fmt.Errorf("reading the last position of capture %s from topic %s: %w", p.cfg.CaptureName, p.cfg.PositionsTopic, err)
	}
	p.looked, p.stored = true, ok
	if ok {
		p.pos, p.written, p.writtenAt = pos, pos, time.Now()
		p.snap, p.writtenSnap = p.storedSnap, p.storedSnap
	}
	return pos, ok, nil
}

// StoredSnapshot returns the snapshot state stored with the position the
// last LastPosition returned ("" none), and fresh: LastPosition found no
// stored position at all. Before any LastPosition (an explicit --from)
// it returns "", false: no snapshot to resume, and not a first start.
func (p *Publisher) StoredSnapshot() (state string, fresh bool) {
	return p.storedSnap, p.looked && !p.stored
}

// fence sends InitProducerID for the transactional id, as a new producer
// would: the coordinator bumps the epoch, so the predecessor can no longer
// write, and aborts its open transaction now. Until that abort is written,
// the coordinator answers CONCURRENT_TRANSACTIONS; retry.
func (p *Publisher) fence(ctx context.Context) error {
	return Fence(ctx, p.cl, p.cfg.TransactionalID, p.cfg.TransactionTimeout, p.log)
}

// Fence is the fencing step of a Publisher, for other writers that take
// over a capture's transactional id (capture add-partitions).
func Fence(ctx context.Context, cl *kgo.Client, transactionalID string, txnTimeout time.Duration, log *zap.Logger) error {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID = kmsg.StringPtr(transactionalID)
	req.TransactionTimeoutMillis = int32(txnTimeout.Milliseconds())
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	b := retry.Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		switch {
		case err == nil:
			log.Info("fenced earlier instances of this capture", zap.String("transactional_id", transactionalID),
				zap.Int64("producer_id", resp.ProducerID), zap.Int16("epoch", resp.ProducerEpoch))
			return nil
		case errors.Is(err, kerr.InvalidTransactionTimeout):
			return fmt.Errorf("the broker refuses the transaction timeout %s: it must not exceed the broker's transaction.max.timeout.ms: %w", txnTimeout, err)
		case errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
			return fmt.Errorf("fencing earlier instances: not allowed to use transactional id %q: %w", transactionalID, err)
		case ctx.Err() != nil || !(kerr.IsRetriable(err) || errors.Is(err, kerr.ConcurrentTransactions)):
			return fmt.Errorf("fencing earlier instances (transactional id %s): %w", transactionalID, err)
		}
		if retry.Sleep(ctx, b.Next()) != nil {
			return fmt.Errorf("fencing earlier instances (transactional id %s): %w (last: %w)", transactionalID, ctx.Err(), err)
		}
	}
}

func (p *Publisher) ensurePositionsTopic(ctx context.Context) error {
	t := p.cfg.PositionsTopic
	if p.ensured[t] {
		return nil
	}
	cfgs := kafka.TopicConfigs("", p.cfg.MinInsyncReplicas, nil)
	cfgs["compression.type"] = p.topicCfgs["compression.type"]
	res, err := kafka.EnsureCompactedTopic(ctx, p.adm, t, p.cfg.ReplicationFactor, cfgs)
	if err != nil {
		return err
	}
	if res.Created {
		p.log.Info("created the positions topic", obs.Topic(t))
	}
	p.ensured[t] = true
	return nil
}

// positionRecord is the record storing pos (schemas/position.schema.json).
func (p *Publisher) positionRecord(pos string) (*kgo.Record, error) {
	return p.positionSnapRecord(pos, "")
}

// positionSnapRecord is the record storing pos and the snapshot state
// snap ("" none).
func (p *Publisher) positionSnapRecord(pos, snap string) (*kgo.Record, error) {
	v := make([]byte, 0, 64+len(pos))
	v = append(v, `{"capture":`...)
	v, err := jsontext.AppendQuote(v, p.cfg.CaptureName)
	if err != nil {
		return nil, fmt.Errorf("capture name %q: %w", p.cfg.CaptureName, err)
	}
	v = append(v, `,"`...)
	v = append(v, p.cfg.SourceKind...)
	v = append(v, `":`...)
	v = append(v, pos...)
	if snap != "" {
		if err := checkPosition(snap); err != nil {
			return nil, fmt.Errorf("snapshot state: %w", err)
		}
		v = append(v, `,"snapshot":`...)
		v = append(v, snap...)
	}
	v = append(v, `,"updated_ms":`...)
	v = strconv.AppendInt(v, time.Now().UnixMilli(), 10)
	v = append(v, '}')
	return &kgo.Record{Topic: p.cfg.PositionsTopic, Key: []byte(p.cfg.CaptureName), Value: v}, nil
}

// checkPosition accepts a position only if it is a JSON object, so the
// position record stays valid JSON whatever a source sends.
func checkPosition(pos string) error {
	v := jsontext.Value(pos)
	if !v.IsValid() || v.Kind() != '{' {
		return fmt.Errorf("%q is not a JSON object", pos)
	}
	return nil
}

// positionValue is what LastPosition needs of a position record.
type positionValue struct {
	Capture string         `json:"capture"`
	MySQL   jsontext.Value `json:"mysql"`
	Mongo   jsontext.Value `json:"mongo"`
	// Snapshot is the snapshot state stored with the position.
	Snapshot jsontext.Value `json:"snapshot"`
}

// parsePosition returns the position of kind stored in a record value;
// ok is false for a tombstone.
func parsePosition(capture, kind string, value []byte) (string, bool, error) {
	if value == nil {
		return "", false, nil
	}
	var v positionValue
	if err := json.Unmarshal(value, &v); err != nil {
		return "", false, fmt.Errorf("position record %s is not valid: %w", value, err)
	}
	if v.Capture != capture {
		return "", false, fmt.Errorf("position record under key %q names capture %q", capture, v.Capture)
	}
	mine, other, otherKind := v.MySQL, v.Mongo, "mongo"
	if kind == "mongo" {
		mine, other, otherKind = v.Mongo, v.MySQL, "mysql"
	}
	if len(mine) == 0 || mine.Kind() != '{' {
		if len(other) > 0 && other.Kind() == '{' {
			return "", false, fmt.Errorf("capture %s has a stored %s position, but this capture reads %s; use another capture name or delete the stored position", capture, otherKind, kind)
		}
		return "", false, fmt.Errorf("position record %s has no %s position", value, kind)
	}
	return string(mine), true, nil
}

// readPosition reads the positions topic from its start to the end offsets
// it had when called, with read_committed. Control records are kept so
// that the commit marker ending the log proves the end was reached; when
// the log's last record is gone (compaction) the read ends once nothing
// arrives and the last stable offset has passed the end.
func (p *Publisher) readPosition(ctx context.Context) (string, bool, error) {
	best, err := lastRecord(ctx, p.adm, p.baseOpts, p.cfg.PositionsTopic, p.cfg.CaptureName, p.cfg.TransactionTimeout+30*time.Second)
	if err != nil || best == nil {
		return "", false, err
	}
	p.storedSnap = ""
	var sv positionValue
	if best.Value != nil && json.Unmarshal(best.Value, &sv) == nil && len(sv.Snapshot) > 0 && sv.Snapshot.Kind() == '{' {
		p.storedSnap = string(sv.Snapshot)
	}
	return parsePosition(p.cfg.CaptureName, p.cfg.SourceKind, best.Value)
}

// lastRecord reads topic from its start to the end offsets it had when
// called, with read_committed, and returns the last record keyed by
// capture (nil when there is none). Control records are kept so that the
// commit marker ending the log proves the end was reached; when the log's
// last record is gone (compaction) the read ends once nothing arrives and
// the last stable offset has passed the end; a transaction that stays
// open longer than stall is an error.
func lastRecord(ctx context.Context, adm *kadm.Client, opts []kgo.Opt, topic, capture string, stall time.Duration) (*kgo.Record, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing start offsets: %w", err)
	}
	want := map[int32]int64{}
	from := map[int32]kgo.Offset{}
	for part, end := range ends[topic] {
		if start, ok := starts.Lookup(topic, part); ok && start.Offset < end.Offset {
			want[part] = end.Offset
			from[part] = kgo.NewOffset().At(start.Offset)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	cons, err := kgo.NewClient(append(slices.Clone(opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.FetchMaxWait(250*time.Millisecond))...)
	if err != nil {
		return nil, fmt.Errorf("creating the positions reader: %w", err)
	}
	defer cons.Close()

	last := map[int32]*kgo.Record{}
	progress := time.Now()
	const idleCheck = 5 * time.Second
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cons.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ferr error
		fs.EachError(func(_ string, part int32, err error) {
			if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetching partition %d: %w", part, err)
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
			if !r.Attrs.IsControl() && string(r.Key) == capture {
				last[r.Partition] = r
			}
		})
		if n > 0 {
			progress = time.Now()
			continue
		}
		idle := time.Since(progress)
		if idle < idleCheck {
			continue
		}
		lso, err := adm.ListCommittedOffsets(ctx, topic)
		if err == nil {
			for part, end := range want {
				if o, ok := lso.Lookup(topic, part); ok && o.Err == nil && o.Offset >= end {
					delete(want, part)
				}
			}
		}
		if len(want) > 0 && idle > stall {
			return nil, fmt.Errorf("no progress for %s below end offsets %v: a transaction on the topic stays open", idle.Round(time.Second), want)
		}
	}
	var best *kgo.Record
	for _, r := range last {
		if best == nil || r.Timestamp.After(best.Timestamp) {
			best = r
		}
	}
	return best, nil
}
