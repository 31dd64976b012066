package binlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/retry"
)

// Reader is the binlog source. Run may be called again after it returned
// (the pipeline restarts it), but not concurrently.
type Reader struct {
	cfg Config
	log *zap.Logger
}

var _ source.Source = (*Reader)(nil)

// New checks the config and applies its defaults. It does not connect.
func New(cfg Config) (*Reader, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &Reader{cfg: cfg, log: cfg.Logger}, nil
}

// Run implements source.Source: it streams from the position from until
// ctx ends or a fatal error occurs. See the package documentation for the
// items it sends and for ErrTxnInterrupted.
func (r *Reader) Run(ctx context.Context, from string, out chan<- source.Item) error {
	srv, err := r.dial(ctx, r.cfg.Addrs, time.Now().Add(r.cfg.RetryWindow))
	if err != nil {
		return err
	}
	sp, err := r.resolve(ctx, srv, from)
	if err == nil {
		err = CheckPositionAvailable(ctx, srv.db, sp.pos)
	}
	if err != nil {
		srv.close()
		return err
	}
	snap, state, err := r.startSnapshots(ctx, srv)
	if err != nil {
		srv.close()
		return err
	}
	st := newStream(r, srv, sp, out)
	defer func() { st.srv.close() }()
	r.log.Info("binlog reader starting", zap.String("server", srv.addr), zap.String("version", srv.version),
		zap.String("from", from), zap.Stringer("position", sp.pos), zap.Bool("gtid", sp.byGTID))

	outer := ctx
	if snap != nil {
		// The snapshotter runs beside the stream; its failure (or the
		// end of an initial_only snapshot) ends Run.
		st.snap, st.snapJSON = snap, state.JSON()
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := snap.run(ctx, state); err != nil && ctx.Err() == nil {
				cancel(err)
			}
		}()
		defer func() { cancel(context.Canceled); <-done }()
	}

	b := newBackoff()
	failures := 0
	for {
		err := st.run(ctx)
		if outer.Err() != nil {
			return outer.Err()
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var lost *connLostError
		if !errors.As(err, &lost) {
			return err
		}
		if st.tx.sent {
			return &interruptedError{txID: st.tx.id, cause: err}
		}
		if st.progressed {
			failures = 0
			b.Reset()
		}
		if failures++; failures > r.cfg.MaxReconnects {
			return fatalf("giving up after %d reconnects without progress: %w", failures-1, err)
		}
		st.abandonTx()
		wait := time.Duration(0)
		if failures > 1 {
			wait = b.Next()
		}
		r.log.Warn("replication connection lost between transactions; reconnecting from the last committed position",
			zap.String("server", st.srv.addr), zap.Stringer("position", st.committed), zap.Duration("in", wait), zap.Error(err))
		if err := retry.Sleep(ctx, wait); err != nil {
			return err
		}
		if err := r.reconnect(ctx, st); err != nil {
			return err
		}
	}
}

// reconnect replaces st's server. With GTIDs any configured address will
// do, starting with the current one, so the reader follows a failover; a
// file:pos only makes sense on the server that wrote it.
func (r *Reader) reconnect(ctx context.Context, st *stream) error {
	addrs := []string{st.srv.addr}
	if st.byGTID {
		for _, a := range r.cfg.Addrs {
			if a != st.srv.addr {
				addrs = append(addrs, a)
			}
		}
	}
	srv, err := r.dial(ctx, addrs, time.Now().Add(r.cfg.RetryWindow))
	if err != nil {
		return err
	}
	switch {
	case srv.flavor != st.flavor:
		err = fatalf("%s now runs %s (%s) but the stream was read from %s", srv.addr, srv.flavor, srv.version, st.flavor)
	case st.byGTID && !srv.gtids:
		err = fatalf("%s has gtid_mode OFF; the stream was read by GTID and cannot continue there", srv.addr)
	case !st.byGTID:
		err = sameServer(srv, st.committed)
	}
	if err == nil {
		err = CheckPositionAvailable(ctx, srv.db, st.committed)
	}
	if err != nil {
		srv.close()
		return err
	}
	if srv.addr != st.srv.addr || srv.id != st.srv.id {
		r.log.Warn("failing over to another source server", zap.String("from", st.srv.addr), zap.String("to", srv.addr),
			zap.Uint32("server_id", srv.id), zap.Stringer("position", st.committed))
	}
	st.setServer(srv)
	return nil
}

// syncerConfig is go-mysql's configuration for one replication connection.
func (r *Reader) syncerConfig(srv *server) (replication.BinlogSyncerConfig, error) {
	host, port, err := splitAddr(srv.addr)
	if err != nil {
		return replication.BinlogSyncerConfig{}, &fatalError{err}
	}
	return replication.BinlogSyncerConfig{
		ServerID: r.cfg.ServerID, Flavor: srv.flavor, Host: host, Port: port,
		User: r.cfg.User, Password: r.cfg.Password, TLSConfig: r.cfg.TLS, Charset: "utf8mb4",
		// Values stay exact: decimals and temporal values as text,
		// TIMESTAMP rendered in UTC, MySQL JSON as MySQL prints it.
		UseDecimal: false, ParseTime: false, TimestampStringLocation: time.UTC, RenderJSONAsMySQLText: true,
		HeartbeatPeriod: r.cfg.HeartbeatPeriod,
		// The reader reconnects itself, so it decides where (failover)
		// and from which position (the last commit).
		DisableRetrySync: true,
		// Bounded read-ahead (G7); see Config.ChannelCap.
		EventCacheCount: r.cfg.ChannelCap,
		Dialer:          (&net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}).DialContext,
		// The reader logs what matters, with context.
		Logger: slog.New(slog.DiscardHandler),
	}, nil
}

// streamErr classifies an error of the replication connection.
func (st *stream) streamErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var me *gomysql.MyError
	if errors.As(err, &me) && me.Code == gomysql.ER_MASTER_FATAL_ERROR_READING_BINLOG {
		// The server cannot serve the position: purged, or never there.
		if perr := CheckPositionAvailable(ctx, st.srv.db, st.committed); perr != nil {
			return perr
		}
		return fatalf("%s cannot stream from %s: %w", st.srv.addr, st.committed, err)
	}
	if isAccessDenied(err) {
		return fatalf("replication connection to %s (needs REPLICATION SLAVE): %w", st.srv.addr, err)
	}
	return &connLostError{fmt.Errorf("replication connection to %s: %w", st.srv.addr, err)}
}

// deadAfter is how long the reader waits without any event, server
// heartbeats included, before it takes the connection for dead: several
// heartbeat periods, and never less than 30s so one slow large event is
// not mistaken for a dead peer.
func (r *Reader) deadAfter() time.Duration {
	return max(4*r.cfg.HeartbeatPeriod, 30*time.Second)
}
