// Package app wires apply's pieces together from its YAML config: the
// target sink, the consumer group, metrics and health. cmd/apply is a thin
// shell over it, so the wiring is tested without building a binary.
package app

import (
	"regexp"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/sluice-cdc/sluice/apply/internal/consume"
	"github.com/sluice-cdc/sluice/apply/internal/mapping"
	mongosink "github.com/sluice-cdc/sluice/apply/internal/sink/mongo"
	"github.com/sluice-cdc/sluice/pkg/config"
)

// Config is apply.yaml.
type Config struct {
	// Group is the Kafka consumer group: one per target.
	Group string `yaml:"group"`
	// Topics to consume: names, or with topic_regex: true regular
	// expressions (e.g. "sluice\\.shop\\..*").
	Topics     []string       `yaml:"topics"`
	TopicRegex bool           `yaml:"topic_regex"`
	Input      Input          `yaml:"input"`
	Target     Target         `yaml:"target"`
	Mapping    mapping.Config `yaml:"mapping"`
	Batch      Batch          `yaml:"batch"`
	Consumer   Consumer       `yaml:"consumer"`
	// OnError is stop (default: the partition stops, /readyz fails) or
	// dlq (the record goes to DLQTopic with the error, the partition
	// continues).
	OnError  string `yaml:"on_error"`
	DLQTopic string `yaml:"dlq_topic"`
	// ShutdownTimeout bounds the graceful stop after SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	Kafka config.Kafka `yaml:"kafka"`
	HTTP  config.HTTP  `yaml:"http"`
	Log   config.Log   `yaml:"log"`
}

// Input says how records are read.
type Input struct {
	// Format is auto (default: Sluice's header, else recognised from the
	// envelope), maxwell or debezium.
	Format string `yaml:"format"`
}

// Target is the database written to.
type Target struct {
	// Kind is mysql (also MariaDB), postgres or mongodb.
	Kind string `yaml:"kind"`
	// DSN: for mysql the go-sql-driver form
	// (user:pass@tcp(host:3306)/db), for postgres a URL or key=value
	// string, for mongodb a connection string (mongodb://...). Usually
	// "${TARGET_DSN}"; it is never logged.
	DSN config.Secret `yaml:"dsn"`
	// Schema is the default PostgreSQL schema (default public); for mysql
	// the DSN's database is the default.
	Schema string `yaml:"schema"`
	// Database (mongodb only) holds the sluice_offsets collection and the
	// collections of rows whose source names no database (mapping
	// targets without a database part); default the connection string's
	// database.
	Database string `yaml:"database"`
	// Decimals (mongodb only): how SQL DECIMAL values are stored:
	// decimal128 (default) or string (servers without Decimal128, such
	// as FerretDB).
	Decimals string `yaml:"decimals"`
	// SubMillis (mongodb only): DATETIME/TIMESTAMP values with digits
	// below the millisecond, which a BSON date cannot hold: error
	// (default), truncate or string.
	SubMillis string `yaml:"sub_millis"`
	// ZeroDates: what to do with MySQL zero dates (0000-00-00): keep
	// (mysql default; write them as they are), null (postgres default;
	// write NULL and count sluice_apply_zero_dates_total) or error.
	ZeroDates string `yaml:"zero_dates"`
	// Origin tags apply's writes for bidirectional replication (mysql
	// only): every batch transaction first writes this tag into the
	// target's sluice_origin table, and a capture of the target database
	// with the tag in its drop_origins leaves those transactions out, so
	// changes do not loop back. Empty: no marker.
	Origin string `yaml:"origin"`
}

// Consumer tunes group membership.
type Consumer struct {
	// SessionTimeout: how long a member may be silent before the group
	// gives its partitions to others (default 45s; the broker allows 6s
	// to 30m by default). Shorter means faster recovery after a crash.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout: how long members may take to finish their batches
	// when partitions move (default 60s). Keep it above the time to write
	// one batch.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// TopicRefresh: how often the topic list is read again, which is how
	// soon a topic_regex picks up the topic of a newly captured table
	// (default 10s; Kafka's own clients wait 5 minutes).
	TopicRefresh time.Duration `yaml:"topic_refresh"`
}

// Batch limits: a batch is written when any is reached.
type Batch struct {
	Rows   int           `yaml:"rows"`
	Bytes  int           `yaml:"bytes"`
	Linger time.Duration `yaml:"linger"`
}

// SetDefaults implements config.Validator.
func (c *Config) SetDefaults() {
	c.Input.Format = "auto"
	c.Batch = Batch{Rows: consume.DefaultBatchRows, Bytes: consume.DefaultBatchBytes, Linger: consume.DefaultLinger}
	c.OnError = consume.PolicyStop
	c.Consumer = Consumer{SessionTimeout: 45 * time.Second, RebalanceTimeout: 60 * time.Second, TopicRefresh: 10 * time.Second}
	c.ShutdownTimeout = 30 * time.Second
	c.Kafka.SetDefaults()
	c.HTTP.SetDefaults()
	c.Log.SetDefaults()
}

// Validate implements config.Validator: every problem at once.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Group == "" {
		p.Add("group", "required: the consumer group of this target (e.g. sluice-apply-warehouse)")
	}
	if len(c.Topics) == 0 {
		p.Add("topics", "required: at least one topic (or pattern with topic_regex: true)")
	}
	if c.TopicRegex {
		for i, t := range c.Topics {
			if _, err := regexp.Compile(t); err != nil {
				p.Add("topics["+strconv.Itoa(i)+"]", "not a regular expression: %v", err)
			}
		}
	}
	switch c.Input.Format {
	case "auto", "maxwell", "debezium", "changestream":
	default:
		p.Add("input.format", "%q: want auto, maxwell, debezium or changestream", c.Input.Format)
	}
	switch c.Target.Kind {
	case "mysql", "mariadb", "postgres", "mongodb":
	case "":
		p.Add("target.kind", "required: mysql, postgres or mongodb")
	default:
		p.Add("target.kind", "%q: want mysql, postgres or mongodb", c.Target.Kind)
	}
	if c.Target.DSN == "" {
		p.Add("target.dsn", "required (e.g. \"${TARGET_DSN}\")")
	}
	if c.Target.Origin != "" && (c.Target.Kind == "postgres" || c.Target.Kind == "mongodb") {
		p.Add("target.origin", "loop prevention needs a MySQL/MariaDB target (capture reads only those)")
	}
	c.Target.validateMongo(&p)
	if len(c.Target.Origin) > 255 {
		p.Add("target.origin", "longer than 255 characters")
	}
	switch c.Target.ZeroDates {
	case "", "keep", "null", "error":
		if c.Target.ZeroDates != "" && c.Target.Kind == "mongodb" {
			p.Add("target.zero_dates", "applies to SQL targets; a MongoDB target stores zero dates as their text")
		}
		if c.Target.ZeroDates == "keep" && c.Target.Kind == "postgres" {
			p.Add("target.zero_dates", "keep: PostgreSQL cannot hold zero dates; use null or error")
		}
	default:
		p.Add("target.zero_dates", "%q: want keep, null or error", c.Target.ZeroDates)
	}
	if c.Batch.Rows < 1 {
		p.Add("batch.rows", "%d: must be at least 1", c.Batch.Rows)
	}
	if c.Batch.Bytes < 1024 {
		p.Add("batch.bytes", "%d: must be at least 1024", c.Batch.Bytes)
	}
	if c.Batch.Linger < 0 {
		p.Add("batch.linger", "%s: must not be negative", c.Batch.Linger)
	}
	switch c.OnError {
	case consume.PolicyStop:
		if c.DLQTopic != "" {
			p.Add("dlq_topic", "set, but on_error is stop; set on_error: dlq to use it")
		}
	case consume.PolicyDLQ:
		if c.DLQTopic == "" {
			p.Add("dlq_topic", "required with on_error: dlq")
		}
	default:
		p.Add("on_error", "%q: want stop or dlq", c.OnError)
	}
	if c.Consumer.SessionTimeout < time.Second || c.Consumer.RebalanceTimeout < time.Second {
		p.Add("consumer", "session_timeout %s and rebalance_timeout %s must be at least 1s", c.Consumer.SessionTimeout, c.Consumer.RebalanceTimeout)
	}
	if c.Consumer.TopicRefresh < time.Second {
		p.Add("consumer.topic_refresh", "%s must be at least 1s", c.Consumer.TopicRefresh)
	}
	if c.ShutdownTimeout < time.Second {
		p.Add("shutdown_timeout", "%s: must be at least 1s", c.ShutdownTimeout)
	}
	p.Merge("mapping", c.Mapping.Validate())
	p.Merge("kafka", c.Kafka.Validate())
	p.Merge("http", c.HTTP.Validate())
	p.Merge("log", c.Log.Validate())
	return p.Err()
}

// validateMongo checks the mongodb-only settings, and that they are not
// set for other kinds.
func (t *Target) validateMongo(p *config.Problems) {
	if t.Kind != "mongodb" {
		for _, f := range []struct{ name, v string }{{"database", t.Database}, {"decimals", t.Decimals}, {"sub_millis", t.SubMillis}} {
			if f.v != "" {
				p.Add("target."+f.name, "applies to mongodb targets only")
			}
		}
		return
	}
	if t.Schema != "" {
		p.Add("target.schema", "not for mongodb: set target.database")
	}
	if t.DSN != "" {
		if _, err := connstring.ParseAndValidate(t.DSN.Reveal()); err != nil {
			p.Add("target.dsn", "not a MongoDB connection string (mongodb://host/db or mongodb+srv://...)")
		} else if t.database() == "" {
			p.Add("target.database", "required: the connection string names no database (it holds sluice_offsets and the collections of rows without a database)")
		}
	}
	switch t.Decimals {
	case "", mongosink.DecimalsDecimal128, mongosink.DecimalsString:
	default:
		p.Add("target.decimals", "%q: want decimal128 or string", t.Decimals)
	}
	switch t.SubMillis {
	case "", mongosink.SubMillisError, mongosink.SubMillisTruncate, mongosink.SubMillisString:
	default:
		p.Add("target.sub_millis", "%q: want error, truncate or string", t.SubMillis)
	}
}

// database is Database, else the connection string's database.
func (t *Target) database() string {
	if t.Database != "" {
		return t.Database
	}
	if cs, err := connstring.Parse(t.DSN.Reveal()); err == nil {
		return cs.Database
	}
	return ""
}
