// Package pipeline runs one capture: a source feeding a publisher through a
// bounded channel, restarted from the last committed position when the
// source loses a transaction half-way (connection loss, failover).
//
// Shutdown is two-step (STYLE.md): cancelling ctx stops the source; the
// publisher keeps a context of its own until it has drained the channel and
// ended its Kafka transaction at a source-transaction boundary, or until
// the hard deadline passes.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-cdc/sluice/capture/internal/source"
)

// Publisher is the Kafka side as the pipeline needs it.
type Publisher interface {
	// LastPosition returns the last committed position, fencing any
	// previous instance first. ok is false when none was ever committed.
	LastPosition(ctx context.Context) (pos string, ok bool, err error)
	// Run publishes items until in is closed, then ends the open Kafka
	// transaction: committed if the last item was a Commit or Heartbeat,
	// aborted otherwise. It returns early with an error on failure.
	Run(ctx context.Context, in <-chan source.Item) error
}

// Retryable is implemented by source errors after which the pipeline
// restarts from the last committed position (e.g. a transaction interrupted
// by a lost connection) instead of stopping.
type Retryable interface{ Retryable() bool }

// Config tunes the pipeline.
type Config struct {
	// From overrides the stored position on the first start only
	// ("earliest", "latest", "gtid:...", "file:...:..."). Empty: use the
	// stored position, or Default when there is none.
	From string
	// Default is where to start when nothing was ever committed. Default
	// "latest".
	Default string
	// ChannelCap bounds the items between source and publisher. Default 1024.
	ChannelCap int
	// ShutdownTimeout is how long the publisher may take to finish after
	// ctx is cancelled. Default 30s.
	ShutdownTimeout time.Duration
	// MaxRestarts bounds consecutive restarts without progress before the
	// error is returned. Default 10.
	MaxRestarts int
}

func (c *Config) defaults() {
	if c.Default == "" {
		c.Default = "latest"
	}
	if c.ChannelCap <= 0 {
		c.ChannelCap = 1024
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = 10
	}
}

// Run runs until ctx is cancelled (returns nil after a clean shutdown) or a
// fatal error.
func Run(ctx context.Context, cfg Config, src source.Source, pub Publisher, log *zap.Logger) error {
	cfg.defaults()
	from := cfg.From
	restarts := 0
	for {
		start := from
		from = "" // an explicit start applies to the first run only
		if start == "" {
			pos, ok, err := pub.LastPosition(ctx)
			if err != nil {
				return fmt.Errorf("reading last committed position: %w", err)
			}
			start = cfg.Default
			if ok {
				start = pos
			}
			log.Info("starting from stored position", zap.Bool("stored", ok), zap.String("position", start))
		} else {
			log.Info("starting from explicit position", zap.String("from", start))
		}

		err := runOnce(ctx, cfg, src, pub, start)
		if ctx.Err() != nil {
			return err // shutdown; err is nil when the publisher finished cleanly
		}
		var r Retryable
		if err == nil || !errors.As(err, &r) || !r.Retryable() {
			if err == nil {
				err = errors.New("source stopped without an error")
			}
			return err
		}
		restarts++
		if restarts > cfg.MaxRestarts {
			return fmt.Errorf("giving up after %d restarts: %w", restarts-1, err)
		}
		log.Warn("source interrupted mid-transaction; restarting from the last committed position", zap.Error(err), zap.Int("restart", restarts))
	}
}

func runOnce(ctx context.Context, cfg Config, src source.Source, pub Publisher, start string) error {
	items := make(chan source.Item, cfg.ChannelCap)
	// The publisher outlives ctx by ShutdownTimeout so it can end its
	// transaction cleanly; it still stops at once on its own errors.
	pubCtx, cancelPub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPub()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(cfg.ShutdownTimeout, cancelPub)
		context.AfterFunc(pubCtx, func() { t.Stop() })
	})
	defer stop()

	g, gctx := errgroup.WithContext(pubCtx)
	srcCtx, cancelSrc := context.WithCancel(ctx)
	defer cancelSrc()
	context.AfterFunc(gctx, cancelSrc) // publisher failed: stop reading
	var srcErr error
	g.Go(func() error {
		defer close(items)
		srcErr = src.Run(srcCtx, start, items)
		if errors.Is(srcErr, context.Canceled) {
			return nil
		}
		return srcErr
	})
	g.Go(func() error { return pub.Run(pubCtx, items) })
	err := g.Wait()
	if srcErr != nil && !errors.Is(srcErr, context.Canceled) {
		return srcErr
	}
	return err
}
