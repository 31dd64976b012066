// Package service wires capture's pieces together from its YAML config:
// the binlog source, the Kafka publisher, the pipeline between them,
// metrics and health. cmd/capture is a thin shell over it.
package service

import (
	"net"
	"strconv"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/filter"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/position"
)

// Config is capture.yaml.
type Config struct {
	// Name identifies this capture: it keys the stored position and names
	// the default transactional id. Required; keep it stable.
	Name   string `yaml:"name"`
	Source Source `yaml:"source"`
	// Include and Exclude are db.table patterns (globs per part, e.g.
	// shop.*, shop.audit_*); ExcludeColumns db.table.column patterns.
	// Empty Include captures every non-system database.
	Include        []string     `yaml:"include"`
	Exclude        []string     `yaml:"exclude"`
	ExcludeColumns []string     `yaml:"exclude_columns"`
	Format         string       `yaml:"format"`
	Debezium       Debezium     `yaml:"debezium"`
	Topics         Topics       `yaml:"topics"`
	Transactions   Transactions `yaml:"transactions"`
	Start          Start        `yaml:"start"`
	// ShutdownTimeout bounds the graceful stop after SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	Kafka config.Kafka `yaml:"kafka"`
	HTTP  config.HTTP  `yaml:"http"`
	Log   config.Log   `yaml:"log"`
}

// Source is the MySQL/MariaDB server (or cluster) read.
type Source struct {
	// Kind is mysql or mariadb; empty detects it.
	Kind string `yaml:"kind"`
	// Addrs are host:port of the server, then of failover candidates with
	// the same GTIDs (Galera nodes, replicas). Only GTID positions may move
	// between servers.
	Addrs    []string      `yaml:"addrs"`
	User     string        `yaml:"user"`
	Password config.Secret `yaml:"password"`
	// ServerID is the replica id capture uses; no server of the topology
	// may use it.
	ServerID uint32 `yaml:"server_id"`
	// Heartbeat: how often a quiet source still moves the stored position.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// Keyless: refuse (default) tables without a primary or unique NOT
	// NULL key, or full_row: key them by the whole row.
	Keyless string `yaml:"keyless"`
}

// Debezium options.
type Debezium struct {
	// Schema wraps values in the Connect {"schema","payload"} envelope.
	Schema bool `yaml:"schema"`
	// Tombstones follows each delete with a null-value record.
	Tombstones bool `yaml:"tombstones"`
}

// Topics says where events go.
type Topics struct {
	Prefix   string `yaml:"prefix"`
	Template string `yaml:"template"`
	// Partitions and ReplicationFactor of topics capture creates; -1
	// (default) takes the broker's defaults.
	Partitions        int32  `yaml:"partitions"`
	ReplicationFactor int16  `yaml:"replication_factor"`
	MinInsyncReplicas int    `yaml:"min_insync_replicas"`
	Compression       string `yaml:"compression"`
}

// Transactions tune exactly-once delivery.
type Transactions struct {
	// Enabled (default true): events and position in one Kafka
	// transaction. false: at-least-once.
	Enabled         bool   `yaml:"enabled"`
	TransactionalID string `yaml:"transactional_id"`
	// A Kafka transaction commits at the first source-transaction
	// boundary after CommitEvery events or CommitInterval.
	CommitEvery    int           `yaml:"commit_every"`
	CommitInterval time.Duration `yaml:"commit_interval"`
	// Timeout is the Kafka transaction timeout: a source transaction
	// bigger than what can be sent in this time fails loudly; raise it
	// (and the broker's transaction.max.timeout.ms) for huge ones.
	Timeout time.Duration `yaml:"timeout"`
}

// Start says where to begin without a stored position.
type Start struct {
	// Default is latest (default) or earliest, or a gtid:/file: position.
	Default string `yaml:"default"`
}

// SetDefaults implements config.Validator.
func (c *Config) SetDefaults() {
	c.Source.Heartbeat = 5 * time.Second
	c.Source.Keyless = "refuse"
	c.Format = "maxwell"
	c.Topics = Topics{Prefix: publish.DefaultPrefix, Template: kafka.DefaultTopicTemplate, Partitions: -1, ReplicationFactor: -1, Compression: "zstd"}
	c.Transactions = Transactions{Enabled: true, CommitEvery: publish.DefaultCommitEvery, CommitInterval: publish.DefaultCommitInterval,
		Timeout: publish.DefaultTransactionTimeout}
	c.Start.Default = "latest"
	c.ShutdownTimeout = 30 * time.Second
	c.Kafka.SetDefaults()
	c.HTTP.SetDefaults()
	c.Log.SetDefaults()
}

// Validate implements config.Validator: every problem at once.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Name == "" {
		p.Add("name", "required: a stable name for this capture (it keys the stored position)")
	}
	switch c.Source.Kind {
	case "", "mysql", "mariadb":
	default:
		p.Add("source.kind", "%q: want mysql, mariadb or empty (detect)", c.Source.Kind)
	}
	if len(c.Source.Addrs) == 0 {
		p.Add("source.addrs", "required: at least one host:port")
	}
	for i, a := range c.Source.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.Add("source.addrs["+strconv.Itoa(i)+"]", "%q: want host:port", a)
		}
	}
	if c.Source.User == "" {
		p.Add("source.user", "required: a user with REPLICATION SLAVE, REPLICATION CLIENT and SELECT")
	}
	if c.Source.ServerID == 0 {
		p.Add("source.server_id", "required: a replica id no server of the source uses (e.g. 4242)")
	}
	if c.Source.Heartbeat < 100*time.Millisecond {
		p.Add("source.heartbeat", "%s: must be at least 100ms", c.Source.Heartbeat)
	}
	if c.Source.Keyless != "refuse" && c.Source.Keyless != "full_row" {
		p.Add("source.keyless", "%q: want refuse or full_row", c.Source.Keyless)
	}
	if _, err := filter.New(c.Include, c.Exclude, c.ExcludeColumns); err != nil {
		p.Add("include", "%v", err)
	}
	if c.Format != "maxwell" && c.Format != "debezium" {
		p.Add("format", "%q: want maxwell or debezium", c.Format)
	}
	if _, err := kafka.NewTopics(c.Topics.Template, c.Topics.Prefix); err != nil {
		p.Add("topics.template", "%v", err)
	}
	if c.Topics.Partitions == 0 || c.Topics.Partitions < -1 {
		p.Add("topics.partitions", "%d: want a positive count or -1 (broker default)", c.Topics.Partitions)
	}
	if c.Topics.ReplicationFactor == 0 || c.Topics.ReplicationFactor < -1 {
		p.Add("topics.replication_factor", "%d: want a positive count or -1 (broker default)", c.Topics.ReplicationFactor)
	}
	switch c.Topics.Compression {
	case "zstd", "lz4", "snappy", "gzip", "none":
	default:
		p.Add("topics.compression", "%q: want zstd, lz4, snappy, gzip or none", c.Topics.Compression)
	}
	if c.Transactions.CommitEvery < 1 {
		p.Add("transactions.commit_every", "%d: must be at least 1", c.Transactions.CommitEvery)
	}
	if c.Transactions.Timeout < time.Second || c.Transactions.CommitInterval >= c.Transactions.Timeout {
		p.Add("transactions", "timeout %s must be at least 1s and above commit_interval %s", c.Transactions.Timeout, c.Transactions.CommitInterval)
	}
	if _, err := position.ParseFrom(c.Start.Default); err != nil {
		p.Add("start.default", "%v", err)
	}
	if c.ShutdownTimeout < time.Second {
		p.Add("shutdown_timeout", "%s: must be at least 1s", c.ShutdownTimeout)
	}
	p.Merge("kafka", c.Kafka.Validate())
	p.Merge("http", c.HTTP.Validate())
	p.Merge("log", c.Log.Validate())
	return p.Err()
}
