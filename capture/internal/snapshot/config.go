package snapshot

import (
	"context"

	"go.uber.org/zap"
)

// Config turns snapshots on in a source (binlog.Config.Snapshot,
// mongo.Config.Snapshot); the app wires both alike.
type Config struct {
	// ChunkSize is the rows (documents) per chunk. Default
	// DefaultChunkSize.
	ChunkSize int
	// Resume returns the snapshot state stored with the position the
	// source starts from ("" none), and fresh: no position was stored at
	// all (a first start), when Initial applies.
	Resume func() (state string, fresh bool)
	// Initial snapshots every captured table on a fresh start.
	Initial bool
	// InitialOnly ends the source's Run with ErrDone once the initial
	// snapshot is committed, instead of streaming on.
	InitialOnly bool
	// Signals, when set, delivers on-demand requests from the offset
	// stored in the state; see Signal.
	Signals func(ctx context.Context, from int64, out chan<- Signal) error
	// Progress, when set, is called after every chunk; it must not block.
	Progress func(Progress)
}

// DefaultChunkSize is the chunk size when Config.ChunkSize is not set.
const DefaultChunkSize = 10000

// ReadSignals reads Signals from offset from until ctx ends, into the
// channel it returns (nil without Signals: a receive never happens). A
// failure is logged; on-demand snapshots then stop until restart.
func (c *Config) ReadSignals(ctx context.Context, from int64, log *zap.Logger) <-chan Signal {
	if c.Signals == nil {
		return nil
	}
	sigs := make(chan Signal, 1)
	go func() {
		if err := c.Signals(ctx, from, sigs); err != nil && ctx.Err() == nil {
			log.Error("reading snapshot signals failed; on-demand snapshots stop until restart", zap.Error(err))
		}
	}()
	return sigs
}

// Idle is what a snapshotter does with an empty queue: with InitialOnly
// it is done (ErrDone); without signals nothing more can arrive (nil);
// otherwise it waits for the next request, which it returns with ok.
func (c *Config) Idle(ctx context.Context, sigs <-chan Signal) (sig Signal, ok bool, err error) {
	switch {
	case c.InitialOnly:
		return Signal{}, false, ErrDone
	case sigs == nil:
		return Signal{}, false, nil
	}
	select {
	case <-ctx.Done():
		return Signal{}, false, ctx.Err()
	case sig := <-sigs:
		return sig, true, nil
	}
}

// Stored is the state to resume from (Resume's, parsed; empty when there
// is none) and whether this is a first start.
func (c *Config) Stored() (state State, fresh bool, err error) {
	var stored string
	if c.Resume != nil {
		stored, fresh = c.Resume()
	}
	state, err = ParseState(stored)
	return state, fresh, err
}
