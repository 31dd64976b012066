package publish

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Run publishes items until in is closed or ctx is done (see package doc).
func (p *Publisher) Run(ctx context.Context, in <-chan source.Item) error {
	var (
		inTxn     bool
		rows      int
		started   time.Time
		boundary  = true
		pos       string
		committed string
	)
	begin := func() error {
		if inTxn || p.cfg.NoTransactions {
			inTxn = true
			return nil
		}
		if err := p.cl.BeginTransaction(); err != nil {
			return fmt.Errorf("beginning Kafka transaction: %w", err)
		}
		inTxn, started = true, time.Now()
		return nil
	}
	commit := func(ctx context.Context) error {
		if err := begin(); err != nil {
			return err
		}
		if err := p.produce(ctx, p.positionRecord(pos)); err != nil {
			return err
		}
		if err := p.cl.Flush(ctx); err != nil {
			return p.abort(ctx, fmt.Errorf("flushing records: %w", err))
		}
		if err := p.takeErr(); err != nil {
			return p.abort(ctx, err)
		}
		if !p.cfg.NoTransactions {
			if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return p.classify(fmt.Errorf("committing Kafka transaction: %w", err))
			}
		}
		inTxn, rows, committed = false, 0, pos
		return nil
	}
	for {
		var it source.Item
		var ok bool
		select {
		case it, ok = <-in:
		case <-ctx.Done():
			if inTxn {
				_ = p.abort(context.WithoutCancel(ctx), nil)
			}
			return ctx.Err()
		}
		if !ok {
			if inTxn && boundary && pos != committed {
				return commit(ctx)
			}
			if inTxn {
				return p.abort(ctx, nil) // rows after the last boundary are re-read
			}
			return nil
		}
		switch it.Kind {
		case source.Row:
			if err := begin(); err != nil {
				return err
			}
			boundary = false
			if err := p.publishEvent(ctx, &it.Event); err != nil {
				return p.abort(ctx, err)
			}
			rows++
		case source.Commit, source.Heartbeat:
			boundary, pos = true, it.Position
			// Commit when the batch is big or old enough, or when nothing
			// is queued behind this boundary: batching only pays while a
			// backlog is waiting, and an idle capture should not sit on
			// uncommitted changes.
			due := rows >= p.cfg.CommitEvery || (inTxn && time.Since(started) >= p.cfg.CommitInterval) ||
				(inTxn && len(in) == 0) || (it.Kind == source.Heartbeat && pos != committed)
			if due {
				if err := commit(ctx); err != nil {
					return err
				}
			}
		}
	}
}

// publishEvent produces the record(s) of one event. A primary-key change
// becomes a delete of the old key and an insert of the new one, in both
// formats, so each key's messages stay in its own partition in order (G2).
func (p *Publisher) publishEvent(ctx context.Context, e *event.Event) error {
	if del, create, ok := debezium.SplitKeyChange(e); ok {
		if err := p.publishEvent(ctx, &del); err != nil {
			return err
		}
		return p.publishEvent(ctx, &create)
	}
	topic, err := p.topicFor(ctx, e.Database, e.Table)
	if err != nil {
		return err
	}
	key, err := p.cfg.Encoder.AppendKey(nil, e)
	if err != nil {
		return err
	}
	val, err := p.cfg.Encoder.AppendValue(nil, e)
	if errors.Is(err, debezium.ErrNotRepresentable) {
		return nil // snapshot markers have no Debezium form
	}
	if err != nil {
		return err
	}
	headers := []kgo.RecordHeader{
		{Key: format.HeaderFormat, Value: []byte(p.cfg.Encoder.Name())},
		{Key: format.HeaderPosition, Value: []byte(e.Position)},
		{Key: format.HeaderTypes, Value: format.AppendTypes(nil, e.Columns)},
	}
	if e.Origin != "" {
		headers = append(headers, kgo.RecordHeader{Key: format.HeaderOrigin, Value: []byte(e.Origin)})
	}
	if err := p.produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: val, Headers: headers}); err != nil {
		return err
	}
	if e.Op == event.OpDelete && p.cfg.Tombstones {
		return p.produce(ctx, &kgo.Record{Topic: topic, Key: key, Headers: headers[:2]})
	}
	return nil
}

func (p *Publisher) positionRecord(pos string) *kgo.Record {
	val := `{"capture":` + strconv.Quote(p.cfg.CaptureName) + `,"mysql":` + pos + `,"updated_ms":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `}`
	return &kgo.Record{Topic: p.cfg.PositionsTopic, Key: []byte(p.cfg.CaptureName), Value: []byte(val)}
}

// produce hands a record to the client; delivery errors are collected and
// checked before the transaction commits.
func (p *Publisher) produce(ctx context.Context, r *kgo.Record) error {
	if err := p.takeErr(); err != nil {
		return err
	}
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		if err != nil {
			p.mu.Lock()
			if p.prodErr == nil {
				p.prodErr = fmt.Errorf("producing to %s: %w", r.Topic, err)
			}
			p.mu.Unlock()
		}
	})
	return nil
}

func (p *Publisher) takeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.prodErr
	p.prodErr = nil
	return p.classify(err)
}

// abort ends the open transaction without committing and returns cause.
func (p *Publisher) abort(ctx context.Context, cause error) error {
	if !p.cfg.NoTransactions {
		if err := p.cl.AbortBufferedRecords(ctx); err == nil {
			if err := p.cl.EndTransaction(ctx, kgo.TryAbort); err != nil && cause == nil {
				cause = p.classify(fmt.Errorf("aborting Kafka transaction: %w", err))
			}
		}
	}
	if cause != nil {
		p.cfg.Logger.Warn("Kafka transaction aborted; rows since the last committed position will be re-read", zap.Error(cause))
	}
	return p.classify(cause)
}

func (p *Publisher) classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
		return fmt.Errorf("%w (transactional id %s): %v", ErrFenced, p.cfg.TransactionalID, err)
	}
	if errors.Is(err, kerr.InvalidTxnState) || errors.Is(err, kerr.ConcurrentTransactions) || errors.Is(err, kerr.InvalidProducerIDMapping) {
		return fmt.Errorf("%w (the broker may have aborted a transaction longer than transactions.timeout %s; raise it and the broker's transaction.max.timeout.ms)", err, p.cfg.TransactionTimeout)
	}
	return err
}
