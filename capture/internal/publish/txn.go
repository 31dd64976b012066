package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/obs"
)

// ErrFenced is wrapped by Run's error when a newer producer with the same
// transactional id took over: this instance must stop, not retry.
var ErrFenced = errors.New("fenced by a newer producer")

// ErrTransactionTimeout is wrapped by Run's error when the broker aborted
// a Kafka transaction that stayed open longer than TransactionTimeout.
var ErrTransactionTimeout = errors.New("Kafka transaction timed out")

// endTxnTimeout bounds ending a transaction when the caller's context is
// gone or must not interrupt it.
const endTxnTimeout = 30 * time.Second

// begin opens a Kafka transaction (a batch, without transactions) unless
// one is open.
func (p *Publisher) begin() error {
	if p.inTxn {
		return nil
	}
	if !p.cfg.NoTransactions {
		if err := p.cl.BeginTransaction(); err != nil {
			return fmt.Errorf("beginning a Kafka transaction: %w", err)
		}
	}
	p.inTxn, p.txnStart, p.txnRows = true, time.Now(), 0
	return nil
}

// commit writes the position of the last boundary and commits the open
// transaction (opening one that holds only the position record when none
// is open). Without transactions it waits until every row is acknowledged
// before producing the position record.
func (p *Publisher) commit(ctx context.Context) error {
	if err := p.begin(); err != nil {
		return err
	}
	rec, err := p.positionSnapRecord(p.pos, p.snap)
	if err != nil {
		return err
	}
	if p.cfg.NoTransactions {
		if err := p.cl.Flush(ctx); err != nil {
			return fmt.Errorf("waiting for the rows to be acknowledged: %w", err)
		}
		if err := p.failureErr(); err != nil {
			return err
		}
		if err := p.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return fmt.Errorf("writing the position to topic %s: %w", rec.Topic, err)
		}
	} else {
		p.cl.Produce(ctx, rec, p.promise)
		if err := p.cl.Flush(ctx); err != nil {
			return fmt.Errorf("flushing the Kafka transaction: %w", err)
		}
		// franz-go would commit whatever was acknowledged; a transaction
		// with a failed record must not commit.
		if err := p.failureErr(); err != nil {
			return err
		}
		// A cancelled EndTxn leaves its outcome unknown (franz-go's advice:
		// do not cancel it); it gets a bounded context of its own.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTxnTimeout)
		err := p.cl.EndTransaction(ectx, kgo.TryCommit)
		cancel()
		if err != nil {
			return fmt.Errorf("committing the Kafka transaction: %w", err)
		}
	}
	for k, n := range p.counts {
		p.met.Events(k.db, k.table, k.op, n)
	}
	clear(p.counts)
	p.met.Committed(p.posTimeMs)
	if ce := p.log.Check(zap.DebugLevel, "committed"); ce != nil {
		ce.Write(zap.Int("rows", p.txnRows), zap.Duration("open", time.Since(p.txnStart)), obs.Position(p.pos))
	}
	p.inTxn, p.txnRows = false, 0
	p.written, p.writtenAt, p.writtenSnap = p.pos, time.Now(), p.snap
	return nil
}

// abort drops the open transaction: buffered records are failed, produced
// ones are aborted on the broker. Without transactions nothing can be
// taken back; the rows are simply not covered by a position.
func (p *Publisher) abort(ctx context.Context) error {
	if !p.inTxn {
		return nil
	}
	p.inTxn, p.txnRows = false, 0
	clear(p.counts)
	// The positions received since the last write cover rows that are now
	// dropped: forget them, or a later commit or heartbeat write would
	// store a position past rows never delivered. The source restarts from
	// the written position.
	p.pos, p.atBoundary, p.snap = p.written, true, p.writtenSnap
	if p.cfg.NoTransactions {
		return nil
	}
	if err := p.cl.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("dropping buffered records: %w", err)
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("aborting the Kafka transaction: %w", err)
	}
	return nil
}

// failed aborts the open transaction after err and returns err classified
// (ErrFenced, ErrTransactionTimeout) with context for the operator.
func (p *Publisher) failed(ctx context.Context, kind string, err error) error {
	var age time.Duration
	if p.inTxn {
		age = time.Since(p.txnStart)
		actx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			actx, cancel = context.WithTimeout(context.WithoutCancel(ctx), endTxnTimeout)
			defer cancel()
		}
		if aerr := p.abort(actx); aerr != nil {
			p.log.Warn("aborting the Kafka transaction after an error failed; the broker aborts it at the transaction timeout or when the next instance starts",
				zap.Error(aerr), zap.Duration("transaction_timeout", p.cfg.TransactionTimeout))
			if isFenced(aerr) && !isFenced(err) {
				err = fmt.Errorf("%w (then aborting: %w)", err, aerr)
			}
		}
	}
	err, kind = p.classify(err, kind, age)
	p.met.Error(kind)
	return err
}

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

// classify names what went wrong. A Kafka failure of a transaction older
// than the timeout is the broker's timeout abort however the broker
// phrases it (an epoch error on produce, fenced on commit), so age decides
// first.
func (p *Publisher) classify(err error, kind string, age time.Duration) (error, string) {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err, kind
	case !p.cfg.NoTransactions && age >= p.cfg.TransactionTimeout && (kind == "produce" || kind == "commit"):
		return fmt.Errorf("the Kafka transaction was open for %s, longer than the transaction timeout %s, and the broker aborted it. "+
			"Kafka transactions end only at source-transaction boundaries, so one source transaction must stream to Kafka within that time: "+
			"raise the capture's transaction timeout (at most the broker's transaction.max.timeout.ms, 15m by default, which may need raising too): %w: %w",
			age.Round(time.Millisecond), p.cfg.TransactionTimeout, ErrTransactionTimeout, err), "transaction_timeout"
	case !p.cfg.NoTransactions && isFenced(err):
		return fmt.Errorf("another capture with transactional id %q took over; this instance stops: %w: %w",
			p.cfg.TransactionalID, ErrFenced, err), "fenced"
	case errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return fmt.Errorf("not allowed to use transactional id %q (grant WRITE and DESCRIBE on TransactionalId %s): %w",
			p.cfg.TransactionalID, p.cfg.TransactionalID, err), kind
	}
	return err, kind
}
