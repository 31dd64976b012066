package service

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-cdc/sluice/capture/internal/binlog"
	"github.com/sluice-cdc/sluice/capture/internal/filter"
	"github.com/sluice-cdc/sluice/capture/internal/pipeline"
	"github.com/sluice-cdc/sluice/capture/internal/publish"
	"github.com/sluice-cdc/sluice/capture/internal/repartition"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Version is reported in Debezium-style source blocks and logs.
var Version = "0.1.0"

// connectTimeout bounds startup checks, so a wrong address fails with one
// clear line instead of hanging.
const connectTimeout = 20 * time.Second

// Options are what the command line adds to the config.
type Options struct {
	From           string // --from
	NoTransactions bool   // --no-transactions
	Registry       *prometheus.Registry
	Listening      func(addr string)
}

// transactionalID is the configured one or the default for the name.
func (c *Config) transactionalID() string {
	if c.Transactions.TransactionalID != "" {
		return c.Transactions.TransactionalID
	}
	return "sluice-capture-" + c.Name
}

// Doctor runs the preflight checks against the first reachable source
// address. Unreachable addresses are reported as failed checks.
func Doctor(ctx context.Context, cfg *Config) []binlog.Check {
	var out []binlog.Check
	for _, addr := range cfg.Source.Addrs {
		db, err := openSource(cfg, addr)
		if err != nil {
			out = append(out, binlog.Check{Name: "connection " + addr, Fatal: true, Detail: err.Error()})
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, connectTimeout)
		checks := binlog.Preflight(cctx, db)
		cancel()
		db.Close()
		for i := range checks {
			if checks[i].Name == "connection" {
				checks[i].Name = "connection " + addr
			}
		}
		out = append(out, checks...)
		if len(checks) > 1 || (len(checks) == 1 && checks[0].OK) {
			return out // reached a server
		}
	}
	return out
}

func openSource(cfg *Config, addr string) (*sql.DB, error) {
	dc := mysql.NewConfig()
	dc.Net, dc.Addr, dc.User, dc.Passwd = "tcp", addr, cfg.Source.User, cfg.Source.Password.Reveal()
	dc.Timeout = 10 * time.Second
	conn, err := mysql.NewConnector(dc)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Fatal reports the failed fatal checks as one error, nil if none.
func Fatal(checks []binlog.Check) error {
	var lines []string
	for _, c := range checks {
		if !c.OK && c.Fatal {
			lines = append(lines, c.String())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("the source cannot be captured:\n  %s", strings.Join(lines, "\n  "))
}

// CheckKafka fails with a clear error when no broker answers.
func CheckKafka(ctx context.Context, opts []kgo.Opt) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).ListBrokers(ctx); err != nil {
		return fmt.Errorf("no Kafka broker reachable at %s: %w", strings.Join(cl.OptValue(kgo.SeedBrokers).([]string), ","), err)
	}
	return nil
}

// Run captures until ctx ends, then stops at a transaction boundary,
// commits and returns nil.
func Run(ctx context.Context, cfg *Config, log *zap.Logger, o Options) error {
	noTxn := o.NoTransactions || !cfg.Transactions.Enabled
	if noTxn {
		log.Warn("transactions are off: delivery is AT-LEAST-ONCE; after a crash consumers may see changes twice (apply's upserts make that harmless)")
	}
	checks := Doctor(ctx, cfg)
	for _, c := range checks {
		if !c.OK && !c.Fatal {
			log.Warn("preflight", zap.String("check", c.String()))
		}
	}
	if err := Fatal(checks); err != nil {
		return err
	}
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return err
	}
	if err := CheckKafka(ctx, kopts); err != nil {
		return err
	}

	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	ready := obs.NewReadiness("kafka")
	met := newMetrics(reg, cfg.Name, func() { ready.Set("kafka", nil) })

	flt, err := filter.New(cfg.Include, cfg.Exclude, cfg.ExcludeColumns)
	if err != nil {
		return err
	}
	bcfg := binlog.Config{
		Addrs: cfg.Source.Addrs, User: cfg.Source.User, Password: cfg.Source.Password.Reveal(), ServerID: cfg.Source.ServerID,
		Flavor: cfg.Source.Kind, Tables: flt.Table, KeylessFullRow: cfg.Source.Keyless == "full_row",
		HeartbeatPeriod: cfg.Source.Heartbeat, Name: cfg.Name, Version: Version, Logger: log.Named("binlog"),
	}
	if flt.HasColumnExcludes() {
		bcfg.ExcludeColumn = func(db, table, col string) bool { return !flt.Column(db, table, col) }
	}
	src, err := binlog.New(bcfg)
	if err != nil {
		return err
	}
	var enc format.Encoder = &maxwell.Encoder{}
	if cfg.Format == "debezium" {
		enc = &debezium.Encoder{Opts: debezium.Options{Schema: cfg.Debezium.Schema, Tombstones: cfg.Debezium.Tombstones}}
	}
	pub, err := publish.New(publish.Config{
		Kafka: cfg.Kafka, CaptureName: cfg.Name, TransactionalID: cfg.transactionalID(),
		TopicPrefix: cfg.Topics.Prefix, TopicTemplate: cfg.Topics.Template,
		Partitions: cfg.Topics.Partitions, ReplicationFactor: cfg.Topics.ReplicationFactor,
		MinInsyncReplicas: cfg.Topics.MinInsyncReplicas, Compression: cfg.Topics.Compression,
		Encoder: enc, Tombstones: cfg.Debezium.Tombstones,
		NoTransactions: noTxn, CommitEvery: cfg.Transactions.CommitEvery, CommitInterval: cfg.Transactions.CommitInterval,
		TransactionTimeout: cfg.Transactions.Timeout, Logger: log.Named("publish"), Metrics: met,
	})
	if err != nil {
		return err
	}
	defer pub.Close()

	srv := obs.NewServer(cfg.HTTP, reg, ready, log)
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	if o.Listening != nil {
		o.Listening(addr.String())
	}
	log.Info("capture running", zap.String("name", cfg.Name), zap.Strings("source", cfg.Source.Addrs), zap.String("format", cfg.Format),
		zap.Bool("transactions", !noTxn), zap.String("transactional_id", cfg.transactionalID()), zap.String("metrics", addr.String()))

	g, gctx := errgroup.WithContext(ctx)
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return srv.Run(srvCtx) })
	g.Go(func() error {
		defer stopSrv()
		err := pipeline.Run(gctx, pipeline.Config{From: o.From, Default: cfg.Start.Default, ShutdownTimeout: cfg.ShutdownTimeout}, src, pub, log)
		switch {
		case errors.Is(err, publish.ErrFenced):
			return fmt.Errorf("another capture with transactional id %s took over (this one is fenced and stops): %w", cfg.transactionalID(), err)
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return nil
		}
		return err
	})
	err = g.Wait()
	log.Info("capture stopped", zap.String("name", cfg.Name), zap.Error(err))
	return err
}

// AddPartitions grows a topic behind a barrier; see package repartition.
func AddPartitions(ctx context.Context, cfg *Config, topic string, n int32, barrierOnly bool) (repartition.Result, error) {
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return repartition.Result{}, err
	}
	if err := CheckKafka(ctx, kopts); err != nil {
		return repartition.Result{}, err
	}
	return repartition.AddPartitions(ctx, kopts, cfg.transactionalID(), topic, n, barrierOnly)
}
