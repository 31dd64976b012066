package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/binlog"
	"github.com/sluice-cdc/sluice/capture/internal/metrics"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/capture/internal/signals"
	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/kafka"
)

// Snapshot configures snapshots of a capture (DESIGN §6): tables of
// MySQL/MariaDB, collections of MongoDB (chunk_size documents per chunk).
type Snapshot struct {
	// Mode: initial (default) snapshots every captured table when no
	// position is stored, then streams; never does not; initial_only
	// snapshots and exits 0 once the snapshot is committed. On-demand
	// snapshots (capture snapshot --table) work in every mode but
	// initial_only.
	Mode string `yaml:"mode"`
	// ChunkSize is the rows per chunk, each read in its own consistent
	// snapshot and held in memory until emitted. Default 10000.
	ChunkSize int `yaml:"chunk_size"`
}

// Snapshot defaults.
const (
	SnapshotInitial     = "initial"
	SnapshotNever       = "never"
	SnapshotInitialOnly = "initial_only"
	DefaultChunkSize    = 10000
)

func (s *Snapshot) setDefaults() {
	s.Mode, s.ChunkSize = SnapshotInitial, DefaultChunkSize
}

func (s *Snapshot) validate(p *config.Problems) {
	switch s.Mode {
	case SnapshotInitial, SnapshotNever, SnapshotInitialOnly:
	default:
		p.Add("snapshot.mode", "%q: want initial, never or initial_only", s.Mode)
	}
	if s.ChunkSize < 1 || s.ChunkSize > 1_000_000 {
		p.Add("snapshot.chunk_size", "%d: want 1..1000000 rows", s.ChunkSize)
	}
}

// snapshotConfig is the binlog reader's snapshot setup; bind connects it
// to the publisher (the stored state) once that exists.
func snapshotConfig(cfg *Config, log *zap.Logger, reg prometheus.Registerer) (*binlog.SnapshotConfig, func(*publish.Publisher), error) {
	sc := &binlog.SnapshotConfig{
		ChunkSize: cfg.Snapshot.ChunkSize,
		// From earliest the binlog replays the history itself; an initial
		// snapshot applies to captures that start at latest.
		Initial:     cfg.Snapshot.Mode == SnapshotInitialOnly || cfg.Snapshot.Mode == SnapshotInitial && cfg.Start.Default == "latest",
		InitialOnly: cfg.Snapshot.Mode == SnapshotInitialOnly,
	}
	if cfg.Snapshot.Mode != SnapshotInitialOnly {
		kopts, err := kafka.ClientOpts(cfg.Kafka)
		if err != nil {
			return nil, nil, err
		}
		kopts = append(kopts, kgo.WithLogger(kafka.ZapLogger(log.Named("signals"), kgo.LogLevelWarn)))
		sc.Signals = signals.Reader(kopts, signals.Topic(cfg.Topics.Prefix), cfg.Name, cfg.Topics.ReplicationFactor)
	}
	if reg != nil {
		m := metrics.NewSnapshot(reg, cfg.Name)
		sc.Progress = func(p snapshot.Progress) {
			m.Progress(p.DB+"."+p.Table, p.Rows, p.Total, p.RowsPerS, p.ETA.Seconds(), p.Done)
		}
	}
	bind := func(pub *publish.Publisher) { sc.Resume = pub.StoredSnapshot }
	return sc, bind, nil
}

// RequestSnapshot sends an on-demand snapshot request for tables
// ("db.table", or "db.collection" for MongoDB) to the running capture through the signals topic.
func RequestSnapshot(ctx context.Context, cfg *Config, tables []string) (string, int64, error) {
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return "", 0, err
	}
	if err := CheckKafka(ctx, kopts, cfg.Kafka.Brokers, cfg.ConnectTimeout); err != nil {
		return "", 0, err
	}
	topic := signals.Topic(cfg.Topics.Prefix)
	off, err := signals.Send(ctx, kopts, topic, cfg.Name, cfg.Topics.ReplicationFactor, tables)
	return topic, off, err
}
