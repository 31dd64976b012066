// Package app wires capture together from its YAML config: the binlog
// source, the Kafka publisher and the pipeline between them, the startup
// checks that refuse to run against a source or a cluster that cannot
// work, and the metrics and health server. cmd/capture is a thin shell
// over it, so everything here is testable without a process.
package app

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/filter"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/kafka"
)

// Config is capture.yaml. capture.example.yaml documents every field with
// its default; SetDefaults is the source of truth for the defaults.
type Config struct {
	// Name identifies this capture: it keys the stored position and names
	// the default transactional id. Required; keep it stable, a new name
	// starts from start.default again.
	Name   string `yaml:"name"`
	Source Source `yaml:"source"`
	// Include and Exclude are db.table patterns (globs per part: shop.*,
	// shop.audit_*); ExcludeColumns are db.table.column patterns. An empty
	// Include captures every non-system database; exclusion wins.
	Include        []string `yaml:"include"`
	Exclude        []string `yaml:"exclude"`
	ExcludeColumns []string `yaml:"exclude_columns"`
	// Keyless is what to do with a table that has neither a primary key
	// nor a unique NOT NULL key: refuse (default, capture stops naming the
	// table) or full_row (key its messages by the whole row).
	Keyless string `yaml:"keyless"`
	// DropOrigins lists the origin tags (apply's target.origin) whose
	// transactions are not published: the apply instances that write into
	// this source, in two-way replication. Their bookkeeping tables
	// (sluice_origin, sluice_offsets) are never published either way.
	DropOrigins []string `yaml:"drop_origins"`
	// Format is the message envelope: maxwell (default) or debezium.
	Format       string       `yaml:"format"`
	Debezium     Debezium     `yaml:"debezium"`
	Topics       Topics       `yaml:"topics"`
	Transactions Transactions `yaml:"transactions"`
	Start        Start        `yaml:"start"`
	// Snapshot: initial and on-demand snapshots (MySQL/MariaDB).
	Snapshot Snapshot `yaml:"snapshot"`
	// ConnectTimeout bounds each startup check (reaching the source, the
	// brokers), so a wrong address fails with one clear line instead of
	// hanging. Default 20s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// ShutdownTimeout bounds the graceful stop after SIGTERM: finishing
	// and committing the open Kafka transaction. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	Kafka config.Kafka `yaml:"kafka"`
	HTTP  config.HTTP  `yaml:"http"`
	Log   config.Log   `yaml:"log"`
}

// Source is the MySQL/MariaDB server, or the nodes of a cluster, or a
// MongoDB deployment (kind mongodb).
type Source struct {
	// Kind is mysql or mariadb, refusing a server of the other kind;
	// empty (default) detects it; mongodb reads change streams.
	Kind string `yaml:"kind"`
	// MongoDB only (kind mongodb). URI is the connection string, a
	// secret (write it as ${MONGO_URI}). Watch is deployment (default),
	// database (Database) or collections (Collections, db.collection
	// names, one stream each); include/exclude filter either way.
	// FullDocument: updateLookup (default), whenAvailable, required or
	// off; FullDocumentBeforeChange: off (default), whenAvailable or
	// required. Pipeline: an Extended JSON array of stages appended to
	// the change stream ($match, $addFields).
	URI                      config.Secret `yaml:"uri"`
	Watch                    string        `yaml:"watch"`
	Database                 string        `yaml:"database"`
	Collections              []string      `yaml:"collections"`
	FullDocument             string        `yaml:"full_document"`
	FullDocumentBeforeChange string        `yaml:"full_document_before_change"`
	Pipeline                 string        `yaml:"pipeline"`
	// SplitLargeEvents (MongoDB 7.0+, 6.0.9+) appends
	// $changeStreamSplitLargeEvent so events over 16 MiB arrive in
	// fragments, reassembled before encoding. Default false.
	SplitLargeEvents bool `yaml:"split_large_events"`
	// Addrs are host:port of the server, then of failover candidates that
	// have the same GTIDs (Galera nodes, replicas). Only GTID positions
	// move between servers; with file:pos capture stays on one server.
	Addrs    []string      `yaml:"addrs"`
	User     string        `yaml:"user"`
	Password config.Secret `yaml:"password"`
	// ServerID is the replica id capture registers with; no server of the
	// topology and no other replica may use it.
	ServerID uint32 `yaml:"server_id"`
	// Heartbeat is how often a quiet source still reports its position,
	// so the stored position and the lag stay true. Default 5s.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// RetryWindow is how long capture keeps trying to reach a source
	// server after losing it before it gives up. Default 5m.
	RetryWindow time.Duration `yaml:"retry_window"`
	// HoldRows bounds the rows of a source transaction held back until
	// its XID arrives so that every row carries it (Maxwell xid); a bigger
	// transaction streams, its earlier rows with xid 0. Default 10000
	// (at most 16 MiB of values).
	HoldRows int `yaml:"hold_rows"`
	// TLS to the source (replication and catalog connections); off by
	// default.
	TLS config.TLS `yaml:"tls"`
}

// Debezium options, used when format is debezium.
type Debezium struct {
	// Schema wraps values in the Kafka Connect {"schema","payload"}
	// envelope. Default false.
	Schema bool `yaml:"schema"`
	// Tombstones follows each delete with a null-value record, for
	// compacted topics. Default false.
	Tombstones bool `yaml:"tombstones"`
}

// Topics says where events go and how capture creates topics.
type Topics struct {
	// Prefix fills {prefix} in Template and names the positions topic
	// (<prefix>.positions). Default sluice.
	Prefix string `yaml:"prefix"`
	// Template names a table's topic: {prefix}, {db}, {table}. Default
	// {prefix}.{db}.{table}.
	Template string `yaml:"template"`
	// Partitions and ReplicationFactor of the topics capture creates; -1
	// (default) takes the broker's defaults.
	Partitions        int32 `yaml:"partitions"`
	ReplicationFactor int16 `yaml:"replication_factor"`
	// MinInsyncReplicas sets min.insync.replicas on created topics; 0
	// (default) keeps the broker's.
	MinInsyncReplicas int `yaml:"min_insync_replicas"`
	// Compression of produced batches and created topics: zstd (default),
	// lz4, snappy, gzip or none.
	Compression string `yaml:"compression"`
}

// Transactions tune exactly-once delivery (DESIGN G3).
type Transactions struct {
	// Enabled (default true) writes events and the position in one Kafka
	// transaction. false (or --no-transactions): at-least-once.
	Enabled bool `yaml:"enabled"`
	// TransactionalID default sluice-capture-<name>. A second capture
	// with the same id fences this one.
	TransactionalID string `yaml:"transactional_id"`
	// The open Kafka transaction commits at the first source-transaction
	// boundary after CommitEvery events (default 10000) or CommitInterval
	// (default 200ms).
	CommitEvery    int           `yaml:"commit_every"`
	CommitInterval time.Duration `yaml:"commit_interval"`
	// Timeout is the Kafka transaction timeout (default 60s, at most the
	// broker's transaction.max.timeout.ms). One source transaction must
	// stream to Kafka within it; raise both for huge transactions.
	Timeout time.Duration `yaml:"timeout"`
}

// Start says where to begin when nothing was ever committed.
type Start struct {
	// Default is latest (default: new changes only) or earliest (the
	// oldest binlog on the server). --from overrides the stored position.
	Default string `yaml:"default"`
}

// Defaults not taken from the packages they configure.
const (
	DefaultConnectTimeout  = 20 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultHeartbeat       = 5 * time.Second
	DefaultRetryWindow     = 5 * time.Minute
)

// SetDefaults implements config.Validator.
func (c *Config) SetDefaults() {
	c.Source.Heartbeat = DefaultHeartbeat
	c.Source.RetryWindow = DefaultRetryWindow
	c.Keyless = "refuse"
	c.Format = "maxwell"
	c.Topics = Topics{Prefix: publish.DefaultPrefix, Template: kafka.DefaultTopicTemplate, Partitions: -1, ReplicationFactor: -1, Compression: "zstd"}
	c.Transactions = Transactions{Enabled: true, CommitEvery: publish.DefaultCommitEvery, CommitInterval: publish.DefaultCommitInterval,
		Timeout: publish.DefaultTransactionTimeout}
	c.Start.Default = "latest"
	c.Snapshot.setDefaults()
	c.ConnectTimeout = DefaultConnectTimeout
	c.ShutdownTimeout = DefaultShutdownTimeout
	c.Kafka.SetDefaults()
	c.HTTP.SetDefaults()
	c.Log.SetDefaults()
}

// Validate implements config.Validator: every problem at once, each with
// the path of its field. It also reads the TLS files, so --check-config
// catches a missing certificate.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Name == "" {
		p.Add("name", "required: a stable name for this capture (it keys the stored position)")
	}
	if c.IsMongo() {
		c.validateMongo(&p)
	} else {
		c.Source.validate(&p)
	}
	if _, err := filter.New(c.Include, c.Exclude, c.ExcludeColumns); err != nil {
		addFilterProblems(&p, err)
	}
	for i, o := range c.DropOrigins {
		if o == "" || len(o) > 255 {
			p.Add(fmt.Sprintf("drop_origins[%d]", i), "%q: want 1 to 255 characters", o)
		}
	}
	if c.Keyless != "refuse" && c.Keyless != "full_row" {
		p.Add("keyless", "%q: want refuse or full_row", c.Keyless)
	}
	if !c.IsMongo() && c.Format != "maxwell" && c.Format != "debezium" {
		p.Add("format", "%q: want maxwell or debezium", c.Format)
	}
	c.Topics.validate(&p)
	c.Snapshot.validate(&p)
	t := c.Transactions
	if t.CommitEvery < 1 {
		p.Add("transactions.commit_every", "%d: must be at least 1", t.CommitEvery)
	}
	if t.CommitInterval <= 0 {
		p.Add("transactions.commit_interval", "%s: must be positive", t.CommitInterval)
	}
	if t.Timeout < time.Second || t.Timeout <= t.CommitInterval {
		p.Add("transactions.timeout", "%s: must be at least 1s and longer than commit_interval (%s)", t.Timeout, t.CommitInterval)
	}
	if c.IsMongo() && c.Start.Default != "latest" {
		p.Add("start.default", "%q: a MongoDB capture starts at latest (use --from time:<RFC3339> or --from token:<resume token>)", c.Start.Default)
	} else if c.Start.Default != "latest" && c.Start.Default != "earliest" {
		p.Add("start.default", "%q: want latest or earliest (use --from for an explicit position)", c.Start.Default)
	}
	if c.ConnectTimeout < 100*time.Millisecond {
		p.Add("connect_timeout", "%s: must be at least 100ms", c.ConnectTimeout)
	}
	if c.ShutdownTimeout < time.Second {
		p.Add("shutdown_timeout", "%s: must be at least 1s", c.ShutdownTimeout)
	}
	p.Merge("kafka", c.Kafka.Validate())
	if _, err := c.Kafka.TLS.TLSConfig(); err != nil {
		p.Add("kafka", "%v", err)
	}
	p.Merge("http", c.HTTP.Validate())
	p.Merge("log", c.Log.Validate())
	return p.Err()
}

// addFilterProblems splits filter.New's error, one pattern per line
// ("include[0] "shop": want 2 dot-separated parts"), into one problem per
// pattern, so each gets its own path and line.
func addFilterProblems(p *config.Problems, err error) {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) < 2 {
		p.Add("include", "%v", err)
		return
	}
	for _, l := range lines[1:] {
		path, msg, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok {
			path, msg = "include", l
		}
		p.Add(path, "%s", msg)
	}
}

func (s *Source) validate(p *config.Problems) {
	switch s.Kind {
	case "", "mysql", "mariadb":
	default:
		p.Add("source.kind", "%q: want mysql, mariadb, mongodb or empty (detect)", s.Kind)
	}
	if s.URI != "" || s.Watch != "" || s.Database != "" || len(s.Collections) > 0 || s.FullDocument != "" || s.FullDocumentBeforeChange != "" || s.Pipeline != "" {
		p.Add("source.kind", "MongoDB settings (uri, watch, database, collections, full_document, pipeline) need kind: mongodb")
	}
	if len(s.Addrs) == 0 {
		p.Add("source.addrs", "required: at least one host:port")
	}
	for i, a := range s.Addrs {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			p.Add("source.addrs["+strconv.Itoa(i)+"]", "%q: want host:port", a)
		}
	}
	if s.User == "" {
		p.Add("source.user", "required: a user with REPLICATION SLAVE, REPLICATION CLIENT (MariaDB: BINLOG MONITOR) and SELECT")
	}
	if s.ServerID == 0 {
		p.Add("source.server_id", "required: a replica id that no server of the source uses (e.g. 4242)")
	}
	if s.Heartbeat < 100*time.Millisecond {
		p.Add("source.heartbeat", "%s: must be at least 100ms", s.Heartbeat)
	}
	if s.RetryWindow < time.Second {
		p.Add("source.retry_window", "%s: must be at least 1s", s.RetryWindow)
	}
	if s.HoldRows < 0 {
		p.Add("source.hold_rows", "%d: must be 0 (default 10000) or more", s.HoldRows)
	}
	t := s.TLS
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		p.Add("source.tls.enabled", "is false but other tls settings are set; set enabled: true or remove them")
	}
	if _, err := t.TLSConfig(); err != nil {
		p.Add("source", "%v", err)
	}
}

func (t *Topics) validate(p *config.Problems) {
	if _, err := kafka.NewTopics(t.Template, t.Prefix); err != nil {
		p.Add("topics.template", "%v", err)
	}
	if t.Partitions == 0 || t.Partitions < -1 {
		p.Add("topics.partitions", "%d: want a positive count or -1 (broker default)", t.Partitions)
	}
	if t.ReplicationFactor == 0 || t.ReplicationFactor < -1 {
		p.Add("topics.replication_factor", "%d: want a positive count or -1 (broker default)", t.ReplicationFactor)
	}
	if t.MinInsyncReplicas < 0 {
		p.Add("topics.min_insync_replicas", "%d: want a positive count or 0 (broker default)", t.MinInsyncReplicas)
	}
	switch t.Compression {
	case "zstd", "lz4", "snappy", "gzip", "none":
	default:
		p.Add("topics.compression", "%q: want zstd, lz4, snappy, gzip or none", t.Compression)
	}
}

// TransactionalID is the configured one or the default for the name.
func (c *Config) TransactionalID() string {
	if c.Transactions.TransactionalID != "" {
		return c.Transactions.TransactionalID
	}
	return "sluice-capture-" + c.Name
}

// Overrides are the run command's flags; a set field wins over the file.
type Overrides struct {
	NoTransactions bool   // --no-transactions
	Listen         string // --listen
	LogLevel       string // --log-level
}

// Apply writes the overrides into c and validates the result again, so a
// bad flag value is reported like a bad config value.
func (c *Config) Apply(o Overrides) error {
	if o.NoTransactions {
		c.Transactions.Enabled = false
	}
	if o.Listen != "" {
		c.HTTP.Listen = o.Listen
	}
	if o.LogLevel != "" {
		c.Log.Level = o.LogLevel
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("after applying the command-line flags: %w", err)
	}
	return nil
}
