package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-cdc/sluice/apply/internal/consume"
	"github.com/sluice-cdc/sluice/apply/internal/docsql"
	"github.com/sluice-cdc/sluice/apply/internal/metrics"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	mongosink "github.com/sluice-cdc/sluice/apply/internal/sink/mongo"
	"github.com/sluice-cdc/sluice/apply/internal/sink/mysql"
	"github.com/sluice-cdc/sluice/apply/internal/sink/postgres"
	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// connectTimeout bounds the startup checks of the brokers and the target,
// so a wrong address fails with one clear line instead of hanging.
const connectTimeout = 20 * time.Second

// Options are the parts of a run that are not in the config file.
type Options struct {
	// Registry receives the metrics (default: a new one).
	Registry *prometheus.Registry
	// Listening is called with the metrics/health address once it is
	// bound (tests use port 0).
	Listening func(addr string)
}

// OpenSink connects to the configured target. Rows from a MongoDB source
// reach a SQL target only through WrapDocuments.
func OpenSink(ctx context.Context, t Target, log *zap.Logger, zeroDate func()) (sink.Sink, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	switch t.Kind {
	case "mysql", "mariadb":
		zd := t.ZeroDates
		if zd == "" {
			zd = "keep"
		}
		return mysql.New(ctx, mysql.Config{DSN: t.DSN.Reveal(), ZeroDates: zd, OriginTag: t.Origin, Logger: log, OnZeroDate: zeroDate})
	case "postgres":
		zd := t.ZeroDates
		if zd == "" {
			zd = "null"
		}
		return postgres.New(ctx, postgres.Config{DSN: t.DSN.Reveal(), Schema: t.Schema, ZeroDates: zd, Logger: log, OnZeroDate: zeroDate})
	case "mongodb":
		return mongosink.New(ctx, mongosink.Config{URI: t.DSN.Reveal(), Database: t.database(), Decimals: t.Decimals,
			SubMillis: t.SubMillis, Logger: log})
	}
	return nil, fmt.Errorf("target kind %q is not supported", t.Kind)
}

// WrapDocuments puts the document-to-row conversion (docsql) in front of
// a SQL sink, so MongoDB topics can be applied to it; a MongoDB sink takes
// documents as they are and is returned unchanged.
func WrapDocuments(sk sink.Sink, cfg *Config, met *metrics.Apply) (sink.Sink, error) {
	if cfg.Target.Kind == "mongodb" {
		return sk, nil
	}
	return docsql.Wrap(sk, docsql.Config{Documents: cfg.Mapping.Documents, OnUnmapped: met.UnmappedField})
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
		return fmt.Errorf("no Kafka broker reachable: %w", err)
	}
	return nil
}

// Run runs apply until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg *Config, log *zap.Logger, o Options) error {
	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry()
	}
	met := metrics.New(reg, cfg.Group)
	ready := obs.NewReadiness("kafka", "target")

	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return err
	}
	kopts = append(kopts, kgo.WithLogger(kafka.ZapLogger(log, kgo.LogLevelWarn)))
	if err := CheckKafka(ctx, kopts); err != nil {
		return err
	}
	ready.Set("kafka", nil)
	sk, err := OpenSink(ctx, cfg.Target, log, met.ZeroDate)
	if err != nil {
		return fmt.Errorf("connecting to the %s target: %w", cfg.Target.Kind, err)
	}
	defer sk.Close()
	if sk, err = WrapDocuments(sk, cfg, met); err != nil {
		return err
	}
	ready.Set("target", nil)

	c, err := consume.New(consume.Config{
		ClientOpts: kopts, Group: cfg.Group, Topics: cfg.Topics, TopicRegex: cfg.TopicRegex,
		Format: cfg.Input.Format, Mapping: cfg.Mapping,
		BatchRows: cfg.Batch.Rows, BatchBytes: cfg.Batch.Bytes, Linger: cfg.Batch.Linger,
		OnError: cfg.OnError, DLQTopic: cfg.DLQTopic,
		SessionTimeout: cfg.Consumer.SessionTimeout, RebalanceTimeout: cfg.Consumer.RebalanceTimeout,
		TopicRefresh: cfg.Consumer.TopicRefresh,
		Logger:       log, Metrics: met, Ready: ready,
	}, sk)
	if err != nil {
		return err
	}

	srv := obs.NewServer(cfg.HTTP, reg, ready, log)
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	if o.Listening != nil {
		o.Listening(addr.String())
	}
	log.Info("apply running", obs.Group(cfg.Group), zap.Strings("topics", cfg.Topics), zap.String("target", cfg.Target.Kind),
		zap.String("metrics", addr.String()), zap.String("on_error", cfg.OnError))

	g, gctx := errgroup.WithContext(ctx)
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return srv.Run(srvCtx) })
	g.Go(func() error {
		defer stopSrv() // keep /metrics up until the consumer has flushed
		err := c.Run(gctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	err = g.Wait()
	log.Info("apply stopped", obs.Group(cfg.Group))
	return err
}
