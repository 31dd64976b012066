package publish

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/kafka"
)

// Config of a Publisher. Zero values take the defaults noted; New applies
// them to its own copy.
type Config struct {
	// Kafka is the cluster connection (brokers, TLS, SASL).
	Kafka config.Kafka
	// ExtraOpts are appended to the client options (tests, tuning).
	ExtraOpts []kgo.Opt

	// CaptureName names this capture: the key of its position record.
	// Required.
	CaptureName string
	// TransactionalID default "sluice-capture-<CaptureName>". Two
	// instances with one id fence each other: the newer one wins.
	TransactionalID string
	// SourceKind is the member of the position record holding the
	// position: "mysql" (default) or "mongo" (schemas/position.schema.json).
	SourceKind string

	// TopicPrefix fills {prefix} in TopicTemplate. Default "sluice".
	TopicPrefix string
	// TopicTemplate names a table's topic. Default
	// kafka.DefaultTopicTemplate, "{prefix}.{db}.{table}".
	TopicTemplate string
	// PositionsTopic is the compacted topic of positions. Default
	// "<TopicPrefix>.positions" ("sluice.positions"): captures sharing a
	// prefix share the topic, each under its own key.
	PositionsTopic string
	// Partitions and ReplicationFactor of created topics; -1 (the default)
	// takes the broker's num.partitions and default.replication.factor.
	// The positions topic always has one partition.
	Partitions        int32
	ReplicationFactor int16
	// MinInsyncReplicas sets min.insync.replicas on created topics; 0 (the
	// default) keeps the broker's.
	MinInsyncReplicas int
	// Compression is the producer's batch codec and the created topics'
	// compression.type: zstd (default), lz4, snappy, gzip or none.
	Compression string
	// TopicConfigs are extra configs of created topics (e.g. retention.ms).
	TopicConfigs map[string]string

	// Encoder writes keys and values of row events (Row items). Required
	// unless DocEncoder is set.
	Encoder format.Encoder
	// DocEncoder writes keys and values of MongoDB document changes
	// (Document items). Required unless Encoder is set.
	DocEncoder DocEncoder
	// MaxMessageBytes is the largest record (key, value and headers) a
	// document change may make; a larger one fails the run naming its
	// size and the limit (G6) instead of failing inside the producer.
	// Default BatchMaxBytes, else franz-go's 1000012 (Kafka's
	// message.max.bytes default).
	MaxMessageBytes int
	// Tombstones follows each delete with a record of the same key and a
	// null value, for compacted topics (Debezium style). It is also on
	// when Encoder is a *debezium.Encoder with Opts.Tombstones.
	Tombstones bool

	// NoTransactions turns Kafka transactions off (config
	// "transactions: false"): rows go through an idempotent producer and
	// the position record is written after the rows it covers are
	// acknowledged. A crash then re-sends the rows since the last position:
	// delivery is at-least-once, and New logs so at WARN.
	NoTransactions bool
	// CommitEvery and CommitInterval: the open Kafka transaction is
	// committed at the first source-transaction boundary after this many
	// rows (default 10000) or once it has been open this long (default
	// 200ms). A quiet source's heartbeat position is written at most once
	// per CommitInterval.
	CommitEvery    int
	CommitInterval time.Duration
	// TransactionTimeout is the Kafka transaction timeout (default 60s; at
	// most the broker's transaction.max.timeout.ms, 15 minutes by
	// default). A Kafka transaction ends only at a source-transaction
	// boundary, so one source transaction must stream to Kafka within this
	// time, or the broker aborts it and Run fails naming both settings.
	TransactionTimeout time.Duration

	// MaxBufferedRecords and MaxBufferedBytes bound what the producer
	// holds unacknowledged (defaults 10000 records, 64 MiB). When full,
	// Run blocks, which blocks the source: a 1 GB source transaction
	// streams through in bounded memory (G7).
	MaxBufferedRecords int
	MaxBufferedBytes   int
	// Linger is how long a partition's batch waits for more records
	// (0: franz-go's default, 10ms). BatchMaxBytes caps one batch (0:
	// franz-go's default, 1 MB).
	Linger        time.Duration
	BatchMaxBytes int32

	// Logger defaults to a no-op logger. Row data is never logged above
	// debug level.
	Logger *zap.Logger
	// Metrics defaults to none.
	Metrics Metrics
}

// Defaults.
const (
	DefaultPrefix             = "sluice"
	DefaultCommitEvery        = 10000
	DefaultCommitInterval     = 200 * time.Millisecond
	DefaultTransactionTimeout = 60 * time.Second
	DefaultMaxBufferedRecords = 10000
	DefaultMaxBufferedBytes   = 64 << 20
	// DefaultMaxMessageBytes is franz-go's producer batch limit, Kafka's
	// message.max.bytes default.
	DefaultMaxMessageBytes = 1000012
)

func (c *Config) setDefaults() {
	if c.TransactionalID == "" {
		c.TransactionalID = "sluice-capture-" + c.CaptureName
	}
	if c.SourceKind == "" {
		c.SourceKind = "mysql"
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultPrefix
	}
	if c.TopicTemplate == "" {
		c.TopicTemplate = kafka.DefaultTopicTemplate
	}
	if c.PositionsTopic == "" {
		c.PositionsTopic = c.TopicPrefix + ".positions"
	}
	if c.Partitions == 0 {
		c.Partitions = -1
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.Compression == "" {
		c.Compression = "zstd"
	}
	if c.CommitEvery == 0 {
		c.CommitEvery = DefaultCommitEvery
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = DefaultTransactionTimeout
	}
	if c.MaxBufferedRecords == 0 {
		c.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
		if c.BatchMaxBytes > 0 {
			c.MaxMessageBytes = int(c.BatchMaxBytes)
		}
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Metrics == nil {
		c.Metrics = nopMetrics{}
	}
}

// validate reports every problem of a defaulted config.
func (c *Config) validate() error {
	var errs []error
	bad := func(f string, args ...any) { errs = append(errs, fmt.Errorf(f, args...)) }
	if c.CaptureName == "" {
		bad("capture name is required (it keys the position record)")
	}
	if c.Encoder == nil && c.DocEncoder == nil {
		bad("an encoder (format) is required")
	}
	if c.SourceKind != "mysql" && c.SourceKind != "mongo" {
		bad("source kind %q: want mysql or mongo", c.SourceKind)
	}
	if _, err := codec(c.Compression); err != nil {
		bad("%v", err)
	}
	if c.CommitEvery < 1 {
		bad("commit every %d: must be at least 1", c.CommitEvery)
	}
	if c.CommitInterval < 0 || c.TransactionTimeout < time.Second {
		bad("commit interval %s must not be negative and transaction timeout %s must be at least 1s", c.CommitInterval, c.TransactionTimeout)
	}
	if c.CommitInterval >= c.TransactionTimeout {
		bad("commit interval %s must be shorter than the transaction timeout %s", c.CommitInterval, c.TransactionTimeout)
	}
	if c.MaxBufferedRecords < 1 || c.MaxBufferedBytes < 0 {
		bad("max buffered records %d must be positive, max buffered bytes %d not negative", c.MaxBufferedRecords, c.MaxBufferedBytes)
	}
	if c.Partitions < -1 || c.ReplicationFactor < -1 {
		bad("partitions %d and replication factor %d: want a positive number or -1 for the broker default", c.Partitions, c.ReplicationFactor)
	}
	return errors.Join(errs...)
}

// codec maps a compression name to franz-go's codec.
func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("compression %q: want zstd, lz4, snappy, gzip or none", name)
}
