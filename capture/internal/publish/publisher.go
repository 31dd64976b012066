package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Publisher writes source items to Kafka; see the package comment.
type Publisher struct {
	cfg      Config
	log      *zap.Logger
	met      Metrics
	baseOpts []kgo.Opt // connection options, reused by the positions reader
	cl       *kgo.Client
	adm      *kadm.Client

	topics     *kafka.Topics
	ensured    map[string]bool
	topicCfgs  map[string]*string
	types      map[[2]string]*typesEntry
	formatHdr  []byte
	dbz        bool // Debezium style: sluice.tx.last header on last rows
	tombstones bool
	fenced     bool // LastPosition fenced predecessors already
	// split renumbers transaction orders after key-change splits,
	// per source transaction.
	split struct {
		tx    string
		all   uint64
		table map[[2]string]uint64
	}
	closeOnce sync.Once

	// State of the open Kafka transaction ("batch" without transactions).
	inTxn      bool
	txnStart   time.Time
	txnRows    int
	counts     map[countKey]int
	atBoundary bool   // no row since the last Commit/Heartbeat
	pos        string // position of the last Commit/Heartbeat received
	posTimeMs  int64
	written    string // last position written to the positions topic
	writtenAt  time.Time
	// snap is the snapshot state of the last Commit/Heartbeat (stored
	// with pos), writtenSnap the one last written; storedSnap what
	// LastPosition read, and looked/stored whether it read anything.
	snap, writtenSnap, storedSnap string
	looked, stored                bool

	// failure is the first delivery error reported by a promise.
	mu      sync.Mutex
	failure error
	promise func(*kgo.Record, error)
}

// New checks cfg and builds the client. It does not contact the brokers.
func New(cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("publisher config: %w", err)
	}
	base, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	base = append(base, kgo.WithLogger(kafka.ZapLogger(cfg.Logger, kgo.LogLevelWarn)))
	base = append(base, cfg.ExtraOpts...)
	cdc, _ := codec(cfg.Compression)
	opts := append(append([]kgo.Opt(nil), base...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(cdc),
		kgo.MaxBufferedRecords(cfg.MaxBufferedRecords),
		kgo.MaxBufferedBytes(cfg.MaxBufferedBytes),
	)
	if cfg.Linger > 0 {
		opts = append(opts, kgo.ProducerLinger(cfg.Linger))
	}
	if cfg.BatchMaxBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(cfg.BatchMaxBytes))
	}
	if !cfg.NoTransactions {
		opts = append(opts, kgo.TransactionalID(cfg.TransactionalID), kgo.TransactionTimeout(cfg.TransactionTimeout))
	}
	topics, err := kafka.NewTopics(cfg.TopicTemplate, cfg.TopicPrefix)
	if err != nil {
		return nil, fmt.Errorf("publisher config: %w", err)
	}
	if err := topics.Reserve(cfg.PositionsTopic, "the positions topic"); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating Kafka client: %w", err)
	}
	topicCompression := cfg.Compression
	if topicCompression == "none" {
		topicCompression = "uncompressed"
	}
	p := &Publisher{
		cfg: cfg, log: cfg.Logger, met: cfg.Metrics, baseOpts: base, cl: cl, adm: kadm.NewClient(cl),
		topics: topics, ensured: map[string]bool{}, types: map[[2]string]*typesEntry{},
		topicCfgs:  kafka.TopicConfigs(topicCompression, cfg.MinInsyncReplicas, cfg.TopicConfigs),
		formatHdr:  []byte(formatName(&cfg)),
		counts:     map[countKey]int{},
		atBoundary: true,
	}
	p.split.table = map[[2]string]uint64{}
	p.tombstones = cfg.Tombstones
	if d, ok := cfg.Encoder.(*debezium.Encoder); ok {
		p.dbz = true
		p.tombstones = p.tombstones || d.Opts.Tombstones
	}
	p.promise = func(r *kgo.Record, err error) {
		if err != nil {
			p.setFailure(fmt.Errorf("producing to topic %s: %w", r.Topic, err))
		}
	}
	if cfg.NoTransactions {
		p.log.Warn("transactions disabled: delivery is at-least-once (rows after the last stored position are sent again after a crash)")
	}
	return p, nil
}

// Transactional reports whether records are written in Kafka transactions
// (exactly-once) rather than at-least-once.
func (p *Publisher) Transactional() bool { return !p.cfg.NoTransactions }

// Close releases the client without ending an open transaction. It may be
// called more than once.
func (p *Publisher) Close() { p.closeOnce.Do(p.cl.Close) }

// Run publishes items until in is closed or ctx is done; see the package
// comment for how it ends.
func (p *Publisher) Run(ctx context.Context, in <-chan source.Item) error {
	p.clearFailure()
	// The client's own producer-id request fences predecessors from here
	// on; a LastPosition after this Run must not fence this instance.
	p.fenced = true
	if p.inTxn { // a previous Run ended abnormally; never continue its transaction
		if err := p.abort(ctx); err != nil {
			return p.failed(ctx, "commit", err)
		}
	}
	if err := p.ensurePositionsTopic(ctx); err != nil {
		return p.failed(ctx, "topic", err)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var timerC <-chan time.Time
		if due, ok := p.nextDue(); ok {
			timer.Reset(time.Until(due))
			timerC = timer.C
		}
		select {
		case <-ctx.Done():
			return p.stop(ctx)
		case <-timerC:
			if err := p.atCommitPoint(ctx); err != nil {
				return p.failed(ctx, "commit", err)
			}
		case it, ok := <-in:
			if !ok {
				return p.finish(ctx)
			}
			if kind, err := p.handle(ctx, it); err != nil {
				return p.failed(ctx, kind, err)
			}
		}
		if err := p.failureErr(); err != nil {
			return p.failed(ctx, "produce", err)
		}
	}
}

// handle processes one item; on error it returns the metrics kind.
func (p *Publisher) handle(ctx context.Context, it source.Item) (string, error) {
	switch it.Kind {
	case source.Row:
		if err := p.begin(); err != nil {
			return "commit", err
		}
		p.atBoundary = false
		if kind, err := p.produceRow(ctx, &it.Event); err != nil {
			return kind, err
		}
		p.txnRows++
		p.counts[countKey{it.Event.Database, it.Event.Table, it.Event.Op}]++
		return "", nil
	case source.Document:
		if err := p.begin(); err != nil {
			return "commit", err
		}
		p.atBoundary = false
		if kind, err := p.produceDoc(ctx, it.Doc); err != nil {
			return kind, err
		}
		p.txnRows++
		p.counts[countKey{it.Doc.Change.DB, it.Doc.Change.Collection, it.Doc.Change.Op}]++
		return "", nil
	case source.Commit, source.Heartbeat:
		if it.Kind == source.Heartbeat && !p.atBoundary {
			return "source", errors.New("source sent a heartbeat inside a transaction (rows since the last commit); a heartbeat may only follow a commit")
		}
		if err := checkPosition(it.Position); err != nil {
			return "source", fmt.Errorf("source sent a %s with a bad position: %w", kindName(it.Kind), err)
		}
		p.atBoundary, p.pos, p.posTimeMs, p.snap = true, it.Position, it.SourceTimeMs, it.Snapshot
		return "commit", p.atCommitPoint(ctx)
	}
	return "source", fmt.Errorf("source sent an item of unknown kind %d", it.Kind)
}

func kindName(k source.Kind) string {
	if k == source.Heartbeat {
		return "heartbeat"
	}
	return "commit"
}

// atCommitPoint commits at a source boundary when the open transaction is
// big or old enough, or writes a changed heartbeat position when the last
// position write is CommitInterval old.
func (p *Publisher) atCommitPoint(ctx context.Context) error {
	if !p.atBoundary {
		return nil
	}
	now := time.Now()
	switch {
	case p.inTxn && (p.txnRows >= p.cfg.CommitEvery || now.Sub(p.txnStart) >= p.cfg.CommitInterval):
		return p.commit(ctx)
	case !p.inTxn && (p.pos != p.written || p.snap != p.writtenSnap) && now.Sub(p.writtenAt) >= p.cfg.CommitInterval:
		return p.commit(ctx)
	}
	return nil
}

// nextDue is when atCommitPoint will have something to do if no item
// arrives: a quiet source must not leave committed changes invisible.
func (p *Publisher) nextDue() (time.Time, bool) {
	switch {
	case !p.atBoundary:
		return time.Time{}, false
	case p.inTxn:
		return p.txnStart.Add(p.cfg.CommitInterval), true
	case p.pos != p.written:
		return p.writtenAt.Add(p.cfg.CommitInterval), true
	}
	return time.Time{}, false
}

// finish ends the run after the input closed: commit at a boundary, abort
// otherwise.
func (p *Publisher) finish(ctx context.Context) error {
	if p.atBoundary && (p.inTxn || p.pos != p.written) {
		if err := p.commit(ctx); err != nil {
			return p.failed(ctx, "commit", err)
		}
		return nil
	}
	if p.inTxn {
		p.log.Info("input ended inside a source transaction; aborting the open Kafka transaction, its rows will be re-read from the last committed position",
			obs.Position(p.written))
		if err := p.abort(ctx); err != nil {
			return p.failed(ctx, "commit", err)
		}
	}
	return nil
}

// stop is finish on a cancelled context: the transaction is ended with a
// short context of its own, since ending it cleanly is what makes the
// restart quick (an open one blocks read_committed readers until the
// broker times it out).
func (p *Publisher) stop(ctx context.Context) error {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTxnTimeout)
	defer cancel()
	if err := p.finish(ectx); err != nil {
		return err
	}
	return fmt.Errorf("publisher stopped before its input ended: %w", ctx.Err())
}

func (p *Publisher) setFailure(err error) {
	p.mu.Lock()
	if p.failure == nil {
		p.failure = err
	}
	p.mu.Unlock()
}

func (p *Publisher) failureErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failure
}

func (p *Publisher) clearFailure() {
	p.mu.Lock()
	p.failure = nil
	p.mu.Unlock()
}
