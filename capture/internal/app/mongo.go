package app

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/mongo"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/pkg/config"
)

// KindMongoDB is source.kind of a MongoDB capture.
const KindMongoDB = "mongodb"

// IsMongo reports whether the source is MongoDB.
func (c *Config) IsMongo() bool { return c.Source.Kind == KindMongoDB }

// mongoConfig is the mongo package's view of the config.
func (c *Config) mongoConfig(log *zap.Logger) mongo.Config {
	s := c.Source
	return mongo.Config{
		URI: s.URI.Reveal(), Watch: s.Watch, Database: s.Database, Collections: s.Collections,
		Include: c.Include, Exclude: c.Exclude,
		FullDocument: s.FullDocument, FullDocumentBeforeChange: s.FullDocumentBeforeChange, Pipeline: s.Pipeline,
		SplitLargeEvents: s.SplitLargeEvents,
		Heartbeat:        s.Heartbeat, Name: c.Name, Version: Version, Logger: log,
	}
}

// newMongo builds the MongoDB source with its snapshot setup; bind gives
// the snapshot setup the publisher's stored state once that exists.
func newMongo(cfg *Config, log *zap.Logger, reg prometheus.Registerer) (*mongo.Source, func(*publish.Publisher), error) {
	mc := cfg.mongoConfig(log.Named("mongo"))
	bsc, bind, err := snapshotConfig(cfg, log, reg)
	if err != nil {
		return nil, nil, err
	}
	mc.Snapshot = &mongo.SnapshotConfig{
		ChunkSize: bsc.ChunkSize, Initial: bsc.Initial, InitialOnly: bsc.InitialOnly,
		Signals: bsc.Signals, Progress: bsc.Progress,
		Resume: func() (string, bool) {
			if bsc.Resume == nil {
				return "", false
			}
			return bsc.Resume()
		},
	}
	m, err := mongo.New(mc)
	return m, bind, err
}

// validateMongo adds the problems of a MongoDB source.
func (c *Config) validateMongo(p *config.Problems) {
	for _, pr := range mongo.Check(c.mongoConfig(nil)) {
		p.Add("source."+pr.Field, "%s", pr.Msg)
	}
	s := c.Source
	if len(s.Addrs) > 0 || s.User != "" || s.Password != "" || s.ServerID != 0 || s.TLS.Enabled {
		p.Add("source", "addrs, user, password, server_id and tls are MySQL settings; a MongoDB source takes them in uri")
	}
	if len(c.ExcludeColumns) > 0 {
		p.Add("exclude_columns", "not supported for MongoDB (documents have no columns; use a $project stage in pipeline)")
	}
	if c.Format != mongo.FormatDebezium && c.Format != mongo.FormatChangeStream {
		p.Add("format", "%q: a MongoDB capture writes debezium or changestream", c.Format)
	}
	if c.Debezium.Schema {
		p.Add("debezium.schema", "the Connect schema wrapper is not written for MongoDB changes (documents are strings in it anyway)")
	}
	if s.Heartbeat < 100*time.Millisecond {
		p.Add("source.heartbeat", "%s: must be at least 100ms", s.Heartbeat)
	}
}

// CheckStart validates a --from spec for the configured source kind.
func CheckStart(cfg *Config, from string) error {
	if cfg.IsMongo() {
		return mongo.CheckFrom(from)
	}
	return CheckFrom(from)
}

// checkMongo connects and pings within connect_timeout, so a wrong URI or
// password fails with one line before anything is written to Kafka.
func checkMongo(ctx context.Context, cfg *Config) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	opts := options.Client().ApplyURI(cfg.Source.URI.Reveal()).SetServerSelectionTimeout(cfg.ConnectTimeout)
	hosts := fmt.Sprint(opts.Hosts)
	cl, err := mongodrv.Connect(opts)
	if err != nil {
		return hosts, fmt.Errorf("MongoDB source %s: %w", hosts, err)
	}
	defer cl.Disconnect(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := cl.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		if ctx.Err() != nil {
			return hosts, fmt.Errorf("no MongoDB server answered at %s within connect_timeout %s: %w", hosts, cfg.ConnectTimeout, err)
		}
		return hosts, fmt.Errorf("MongoDB source %s: %w", hosts, err)
	}
	return hosts, nil
}

// mongoEncoder is the document format of a MongoDB capture.
func mongoEncoder(cfg *Config) publish.DocEncoder {
	if cfg.Format == mongo.FormatChangeStream {
		return mongo.ChangeStreamEncoder{}
	}
	return mongo.DebeziumEncoder{}
}
