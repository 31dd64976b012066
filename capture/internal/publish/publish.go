// Package publish writes source items to Kafka exactly once (G3): the row
// records of one or more source transactions and the position record after
// them go in one Kafka transaction, so a read_committed consumer sees each
// source change once, and a restarted capture resumes exactly after the
// last transaction it committed.
//
// Lifecycle: New connects; LastPosition fences any previous instance with
// the same transactional id (its open transaction is aborted now, not after
// its timeout) and returns the last committed position; Run consumes items
// until the channel closes, then ends the open Kafka transaction:
// committed when the last item was a Commit or Heartbeat (a source
// transaction boundary), aborted otherwise, so a half-read source
// transaction is never visible. Close releases the client.
//
// Kafka transactions commit only at source-transaction boundaries, so one
// huge source transaction is one long Kafka transaction; it must finish
// within TransactionTimeout (and the broker's transaction.max.timeout.ms),
// or the broker aborts it and Run returns an error naming the setting.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/format"
)

// ErrFenced means another capture with the same transactional id took over.
var ErrFenced = errors.New("fenced: another capture with the same transactional id took over; this instance stops")

// Config of a Publisher. Zero durations and counts take the defaults noted.
type Config struct {
	Brokers []string
	// ClientOpts are extra franz-go options (TLS, SASL).
	ClientOpts []kgo.Opt
	// CaptureName keys the position record.
	CaptureName string
	// TransactionalID default "sluice-capture-<CaptureName>".
	TransactionalID string
	// PositionsTopic default "sluice.positions".
	PositionsTopic string
	// TopicTemplate default "sluice.{db}.{table}".
	TopicTemplate     string
	Partitions        int32 // default 1
	ReplicationFactor int16 // default 1
	Encoder           format.Encoder
	// Tombstones follows each delete with a null-value record.
	Tombstones bool
	// NoTransactions gives at-least-once delivery (callers must say so).
	NoTransactions bool
	// CommitEvery and CommitInterval: a Kafka transaction is committed at
	// the first source-transaction boundary after this many rows (default
	// 10000) or this long (default 200ms).
	CommitEvery    int
	CommitInterval time.Duration
	// TransactionTimeout default 60s.
	TransactionTimeout time.Duration
	Logger             *zap.Logger
}

func (c *Config) defaults() {
	if c.TransactionalID == "" {
		c.TransactionalID = "sluice-capture-" + c.CaptureName
	}
	if c.PositionsTopic == "" {
		c.PositionsTopic = "sluice.positions"
	}
	if c.TopicTemplate == "" {
		c.TopicTemplate = "sluice.{db}.{table}"
	}
	if c.Partitions <= 0 {
		c.Partitions = 1
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = 1
	}
	if c.CommitEvery <= 0 {
		c.CommitEvery = 10000
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = 200 * time.Millisecond
	}
	if c.TransactionTimeout <= 0 {
		c.TransactionTimeout = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Publisher writes items to Kafka.
type Publisher struct {
	cfg    Config
	cl     *kgo.Client
	adm    *kadm.Client
	topics map[string]string // topic -> db.table, to catch name collisions

	mu      sync.Mutex
	prodErr error
	keyBuf  []byte
	valBuf  []byte
}

// New creates the client. It does not contact the brokers yet.
func New(cfg Config) (*Publisher, error) {
	cfg.defaults()
	if cfg.CaptureName == "" || cfg.Encoder == nil || len(cfg.Brokers) == 0 {
		return nil, errors.New("publish: capture name, encoder and brokers are required")
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression(), kgo.Lz4Compression(), kgo.NoCompression()),
		// Back-pressure, not buffering (G7): Produce blocks when full.
		kgo.MaxBufferedRecords(10000),
		kgo.ProducerLinger(5 * time.Millisecond),
	}, cfg.ClientOpts...)
	if !cfg.NoTransactions {
		opts = append(opts, kgo.TransactionalID(cfg.TransactionalID), kgo.TransactionTimeout(cfg.TransactionTimeout))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating Kafka client: %w", err)
	}
	return &Publisher{cfg: cfg, cl: cl, adm: kadm.NewClient(cl), topics: map[string]string{}}, nil
}

// Close releases the client without committing anything.
func (p *Publisher) Close() { p.cl.Close() }

// LastPosition fences predecessors and returns the last committed position.
func (p *Publisher) LastPosition(ctx context.Context) (string, bool, error) {
	if err := p.ensureTopic(ctx, p.cfg.PositionsTopic, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}); err != nil {
		return "", false, err
	}
	if !p.cfg.NoTransactions {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = kmsg.StringPtr(p.cfg.TransactionalID)
		req.TransactionTimeoutMillis = int32(p.cfg.TransactionTimeout.Milliseconds())
		// CONCURRENT_TRANSACTIONS while the coordinator finishes aborting
		// the predecessor's transaction is expected: retry with backoff.
		backoff := 100 * time.Millisecond
		for attempt := 0; ; attempt++ {
			resp, err := req.RequestWith(ctx, p.cl)
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			if err == nil {
				break
			}
			if attempt >= 30 || !(kerr.IsRetriable(err) || errors.Is(err, kerr.ConcurrentTransactions)) {
				return "", false, fmt.Errorf("fencing previous capture instances (transactional id %s): %w", p.cfg.TransactionalID, err)
			}
			select {
			case <-ctx.Done():
				return "", false, ctx.Err()
			case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)))):
			}
			backoff = min(2*backoff, 2*time.Second)
		}
	}
	ends, err := p.adm.ListEndOffsets(ctx, p.cfg.PositionsTopic)
	if err != nil {
		return "", false, fmt.Errorf("reading end of %s: %w", p.cfg.PositionsTopic, err)
	}
	end, ok := ends.Lookup(p.cfg.PositionsTopic, 0)
	if !ok || end.Err != nil {
		return "", false, fmt.Errorf("reading end of %s: %v", p.cfg.PositionsTopic, end.Err)
	}
	if end.Offset == 0 {
		return "", false, nil
	}
	cons, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.cfg.PositionsTopic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200 * time.Millisecond)}, p.cfg.ClientOpts...)...)
	if err != nil {
		return "", false, err
	}
	defer cons.Close()
	var last []byte
	found := false
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cons.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		n, maxOff := 0, int64(-1)
		fs.EachRecord(func(r *kgo.Record) {
			n++
			maxOff = r.Offset
			if string(r.Key) == p.cfg.CaptureName {
				last, found = r.Value, true
			}
		})
		// Committed records all sit below the last commit marker, so we
		// are done once past end-2 or when a poll finds nothing more.
		if n == 0 || maxOff >= end.Offset-2 {
			break
		}
	}
	if !found || last == nil {
		return "", false, nil
	}
	var rec struct {
		MySQL json.RawMessage `json:"mysql"`
	}
	if err := json.Unmarshal(last, &rec); err != nil || len(rec.MySQL) == 0 {
		return "", false, fmt.Errorf("position record of %s in %s is unreadable (%v): %s", p.cfg.CaptureName, p.cfg.PositionsTopic, err, last)
	}
	return string(rec.MySQL), true, nil
}

var badTopicChars = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

// topicFor names the topic of db.table; characters Kafka forbids become
// "_", and two tables landing on one name is a loud error.
func (p *Publisher) topicFor(ctx context.Context, db, table string) (string, error) {
	name := strings.NewReplacer("{db}", db, "{table}", table).Replace(p.cfg.TopicTemplate)
	name = badTopicChars.ReplaceAllString(name, "_")
	if len(name) > 249 {
		return "", fmt.Errorf("topic name for %s.%s is longer than 249 characters", db, table)
	}
	if owner, ok := p.topics[name]; ok {
		if owner != db+"."+table {
			return "", fmt.Errorf("tables %s and %s.%s both map to topic %s; change output.topic_template", owner, db, table, name)
		}
		return name, nil
	}
	if err := p.ensureTopic(ctx, name, p.cfg.Partitions, map[string]*string{"compression.type": kadm.StringPtr("zstd")}); err != nil {
		return "", err
	}
	p.topics[name] = db + "." + table
	return name, nil
}

func (p *Publisher) ensureTopic(ctx context.Context, name string, partitions int32, configs map[string]*string) error {
	resp, err := p.adm.CreateTopic(ctx, partitions, p.cfg.ReplicationFactor, configs, name)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", name, err)
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", name, resp.Err)
	}
	return nil
}
