package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-cdc/sluice/capture/internal/binlog"
	"github.com/sluice-cdc/sluice/capture/internal/filter"
	"github.com/sluice-cdc/sluice/capture/internal/metrics"
	"github.com/sluice-cdc/sluice/capture/internal/origin"
	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/capture/internal/repartition"
	"github.com/sluice-cdc/sluice/capture/internal/snapshot"
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Version goes into Debezium-style source blocks and the startup log; the
// build may set it with -ldflags "-X ...app.Version=...".
var Version = "0.1.0"

// Options are the parts of a run that are not in the config file.
type Options struct {
	// From overrides the stored position on start (--from); see CheckFrom.
	From string
	// Registry receives the metrics (default: obs.NewRegistry()).
	Registry *prometheus.Registry
	// Listening is called with the metrics/health address once it is
	// bound (tests listen on port 0).
	Listening func(addr string)
}

// Run captures until ctx ends, then stops reading, commits the open Kafka
// transaction at a source-transaction boundary and returns nil. Startup
// order makes failures cheap: everything is built without I/O first, then
// the source is checked (a wrong password or a fatal setting stops here,
// before anything is written to Kafka), then the brokers, and only then
// does the pipeline fence earlier instances and start.
//
// Every failure is also logged (at error, with the capture's name), so the
// JSON log holds it next to the line the command prints.
func Run(ctx context.Context, cfg *Config, log *zap.Logger, o Options) error {
	err := run(ctx, cfg, log, o)
	if err != nil {
		log.Error("capture failed", zap.String("name", cfg.Name), zap.Error(err))
		return err
	}
	log.Info("capture stopped", zap.String("name", cfg.Name))
	return nil
}

func run(ctx context.Context, cfg *Config, log *zap.Logger, o Options) error {
	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	ready := obs.NewReadiness(readySource, readyKafka)
	met := metrics.New(reg, cfg.Name, func() { ready.Set(readyKafka, nil) })

	var src source.Source
	var bindSnapshot func(*publish.Publisher)
	if cfg.IsMongo() {
		m, bind, err := newMongo(cfg, log, reg)
		if err != nil {
			return err
		}
		src, bindSnapshot = m, bind
	} else {
		r, bind, err := newReader(cfg, log, reg)
		if err != nil {
			return err
		}
		src, bindSnapshot = r, bind
		// Loop prevention: drop (or tag) what apply wrote into this
		// database; never publish apply's bookkeeping tables.
		src = origin.New(src, cfg.DropOrigins, func(o string, n int) { met.OriginDropped(o, n) })
	}
	// publish.New logs the at-least-once warning itself when transactions
	// are off, so it appears exactly once whichever way they were turned
	// off.
	pub, err := newPublisher(cfg, log, met)
	if err != nil {
		return err
	}
	defer pub.Close()
	if bindSnapshot != nil {
		bindSnapshot(pub)
	}

	var srcAddr string
	if cfg.IsMongo() {
		if srcAddr, err = checkMongo(ctx, cfg); err != nil {
			return startErr(ctx, err)
		}
	} else {
		rep, err := CheckSource(ctx, cfg)
		if err != nil {
			return startErr(ctx, err)
		}
		for _, c := range rep.Checks {
			if !c.OK && !c.Fatal {
				log.Warn("preflight", zap.String("server", rep.Addr), zap.String("check", c.String()))
			}
		}
		if err := rep.Fatal(); err != nil {
			return err
		}
		if rep.RetentionKnown {
			met.SetRetention(rep.Retention)
		}
		srcAddr = rep.Addr
	}
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return err
	}
	if err := CheckKafka(ctx, kopts, cfg.Kafka.Brokers, cfg.ConnectTimeout); err != nil {
		return startErr(ctx, err)
	}

	srv := obs.NewServer(cfg.HTTP, reg, ready, log)
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	if o.Listening != nil {
		o.Listening(addr.String())
	}
	// The demo and operators find the metrics address in this line.
	log.Info("capture running", zap.String("name", cfg.Name), zap.String("version", Version), zap.String("source", srcAddr),
		zap.String("format", cfg.Format), zap.Bool("transactions", cfg.Transactions.Enabled),
		zap.String("transactional_id", cfg.TransactionalID()), zap.String("metrics", addr.String()))

	g, gctx := errgroup.WithContext(ctx)
	// /metrics stays up until the pipeline has committed its last
	// transaction, so the final numbers can still be scraped.
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return srv.Run(srvCtx) })
	g.Go(func() error {
		defer stopSrv()
		var stopping atomic.Int64 // when ctx ended, Unix ns
		stop := context.AfterFunc(ctx, func() {
			stopping.Store(time.Now().UnixNano())
			ready.Set(readySource, errShuttingDown)
			ready.Set(readyKafka, errShuttingDown)
		})
		defer stop()
		pcfg := pipeline.Config{From: o.From, Default: cfg.Start.Default, ShutdownTimeout: cfg.ShutdownTimeout}
		err := pipeline.Run(gctx, pcfg, &observedSource{src: src, met: met, ready: ready}, &observedPublisher{pub: pub, ready: ready}, log)
		if errors.Is(err, snapshot.ErrDone) {
			log.Info("initial snapshot committed; exiting (snapshot.mode initial_only)")
			return nil
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// A stop while the pipeline was still starting (reading the
			// stored position) left nothing half-done: a clean stop. After
			// shutdown_timeout it means the publisher was cut off at the
			// hard deadline: nothing is lost (what was not committed is
			// read again on restart), but say so.
			if at := stopping.Load(); at == 0 || time.Since(time.Unix(0, at)) < cfg.ShutdownTimeout {
				return nil
			}
			return fmt.Errorf("graceful shutdown did not finish within shutdown_timeout %s: %w", cfg.ShutdownTimeout, err)
		}
		return err
	})
	return g.Wait()
}

// startErr is nil when a startup check failed only because ctx ended (a
// SIGTERM during startup is a clean stop, nothing was written).
func startErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// withMarkers also admits apply's origin marker tables when origins are
// dropped, wherever they are: a marker in an excluded database still
// names the transaction its rows belong to.
func withMarkers(tables func(db, table string) bool, drop []string) func(db, table string) bool {
	if len(drop) == 0 {
		return tables
	}
	return func(db, table string) bool {
		return tables(db, table) || strings.EqualFold(table, origin.MarkerTable)
	}
}

// newReader builds the binlog reader; bind gives its snapshot setup the
// publisher's stored state once the publisher exists.
func newReader(cfg *Config, log *zap.Logger, reg prometheus.Registerer) (r *binlog.Reader, bind func(*publish.Publisher), err error) {
	flt, err := filter.New(cfg.Include, cfg.Exclude, cfg.ExcludeColumns)
	if err != nil {
		return nil, nil, err
	}
	tc, err := cfg.Source.TLS.TLSConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("source.%w", err)
	}
	bcfg := binlog.Config{
		Addrs: cfg.Source.Addrs, User: cfg.Source.User, Password: cfg.Source.Password.Reveal(), ServerID: cfg.Source.ServerID,
		Flavor: cfg.Source.Kind, TLS: tc, Tables: withMarkers(flt.Table, cfg.DropOrigins), KeylessFullRow: cfg.Keyless == "full_row",
		HeartbeatPeriod: cfg.Source.Heartbeat, RetryWindow: cfg.Source.RetryWindow, HoldRows: cfg.Source.HoldRows,
		Name: cfg.Name, Version: Version, Logger: log.Named("binlog"),
	}
	if flt.HasColumnExcludes() {
		bcfg.ExcludeColumn = func(db, table, col string) bool { return !flt.Column(db, table, col) }
	}
	if bcfg.Snapshot, bind, err = snapshotConfig(cfg, log, reg); err != nil {
		return nil, nil, err
	}
	r, err = binlog.New(bcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building the binlog reader: %w", err)
	}
	return r, bind, nil
}

func newPublisher(cfg *Config, log *zap.Logger, met publish.Metrics) (*publish.Publisher, error) {
	var enc format.Encoder = &maxwell.Encoder{}
	var docEnc publish.DocEncoder
	kind := "mysql"
	switch {
	case cfg.IsMongo():
		enc, docEnc, kind = nil, mongoEncoder(cfg), "mongo"
	case cfg.Format == "debezium":
		enc = &debezium.Encoder{Opts: debezium.Options{Schema: cfg.Debezium.Schema, Tombstones: cfg.Debezium.Tombstones}}
	}
	t, tx := cfg.Topics, cfg.Transactions
	return publish.New(publish.Config{
		Kafka: cfg.Kafka, CaptureName: cfg.Name, TransactionalID: cfg.TransactionalID(), SourceKind: kind, DocEncoder: docEnc,
		TopicPrefix: t.Prefix, TopicTemplate: t.Template, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor,
		MinInsyncReplicas: t.MinInsyncReplicas, Compression: t.Compression,
		Encoder: enc, Tombstones: cfg.Debezium.Tombstones,
		NoTransactions: !tx.Enabled, CommitEvery: tx.CommitEvery, CommitInterval: tx.CommitInterval, TransactionTimeout: tx.Timeout,
		Logger: log.Named("publish"), Metrics: met,
	})
}

// ErrorLine is the one line the command prints for a failed run; the full
// error is in the JSON log. A fenced capture gets the plain statement of
// what happened, which is what the operator needs to read.
func ErrorLine(cfg *Config, err error) string {
	if errors.Is(err, publish.ErrFenced) {
		return fmt.Sprintf("another capture with transactional id %s took over; this one was fenced and stopped without writing more", cfg.TransactionalID())
	}
	return err.Error()
}

// AddPartitions grows a topic behind a barrier (package repartition),
// after the same broker check as Run.
func AddPartitions(ctx context.Context, cfg *Config, topic string, n int32, barrierOnly bool) (repartition.Result, error) {
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return repartition.Result{}, err
	}
	if err := CheckKafka(ctx, kopts, cfg.Kafka.Brokers, cfg.ConnectTimeout); err != nil {
		return repartition.Result{}, err
	}
	return repartition.AddPartitions(ctx, kopts, cfg.TransactionalID(), topic, n, barrierOnly)
}
