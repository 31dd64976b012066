// Package sink is the seam between the consumer and a target database.
//
// The consumer decodes and maps messages into Rows and hands a partition's
// batch to a Sink together with the offset that follows it. A Sink writes
// the rows and the offset in one target transaction (where the target has
// transactions), so the target always knows exactly which messages it
// holds: after a crash the consumer resumes from the stored offset, and
// redelivered messages are harmless because every write is an upsert or a
// delete by key (DESIGN §7, G4).
package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// Row is one change to apply, already mapped to the target's names.
type Row struct {
	// Op is OpInsert, OpUpdate or OpSnapshot (all three are upserts of
	// Values) or OpDelete (a delete by the key found in Values).
	Op event.Op
	// Table is the target table, unquoted; Schema its schema or database,
	// empty for the connection's default.
	Schema, Table string
	// Columns are the target column names and the source column types
	// (Type as the source reported it, Kind the value kind). Rows of one
	// table usually share the same slice; a sink may compare by pointer
	// before comparing names.
	Columns []event.Column
	// Key indexes Columns: the primary key, in key order.
	Key []int
	// Values is the after-image for an upsert, the before-image (at least
	// the key columns) for a delete. Absent values are not written.
	Values []event.Value
	// OldKey is set on an update that changed the key: the previous key
	// values (in Key order), to delete before the upsert.
	OldKey []event.Value

	// Where the row came from, for error messages (G6).
	Topic     string
	Partition int32
	Offset    int64
}

// Offset is the consumer position to store with a batch: Next is the
// offset of the first message not yet applied.
type Offset struct {
	Group     string
	Topic     string
	Partition int32
	// From is the offset of the batch's first message. A sink refuses the
	// batch with ErrStale, writing nothing, when the stored offset is
	// already beyond From: another worker (a consumer that took the
	// partition over while this one was still writing) applied these
	// messages, possibly with newer ones after them, and writing older
	// changes now would undo newer ones (G2).
	From int64
	Next int64
}

// ErrStale is returned by Apply for a batch another worker already
// applied past; see Offset.From.
var ErrStale = errors.New("the target already holds later offsets of this partition (another consumer applied them)")

// Sink writes batches to one target. Implementations are safe for
// concurrent use by the per-partition workers; each call is independent.
type Sink interface {
	// Apply writes rows, in order, and stores off, atomically where the
	// target allows. On error nothing of the batch may be assumed written;
	// the caller retries the same batch when Retryable(err) and stops the
	// partition otherwise. A fatal error caused by one row is a *RowError.
	Apply(ctx context.Context, rows []Row, off Offset) error
	// Offsets returns the stored Next offsets of group for topic, by
	// partition (missing partitions have none).
	Offsets(ctx context.Context, group, topic string) (map[int32]int64, error)
	// SetOffsets overwrites the stored offsets of group for topic (used by
	// replay); a negative Next removes the partition's record.
	SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error
	// Close releases the connections.
	Close() error
}

// RowError is a fatal error caused by one row: a value the target column
// cannot hold, a missing table or column, a constraint the target refuses.
type RowError struct {
	Row    *Row
	Column string // empty when not about one column
	Value  string // the offending value as text, when about one value
	Err    error
}

func (e *RowError) Error() string {
	r := e.Row
	s := fmt.Sprintf("%s/%d@%d: table %s", r.Topic, r.Partition, r.Offset, qualified(r.Schema, r.Table))
	if e.Column != "" {
		s += ", column " + e.Column
	}
	if e.Value != "" {
		s += fmt.Sprintf(", value %q", e.Value)
	}
	return s + ": " + e.Err.Error()
}

func (e *RowError) Unwrap() error { return e.Err }

func qualified(schema, table string) string {
	if schema == "" {
		return table
	}
	return schema + "." + table
}

// retryable marks an error worth retrying with the same batch.
type retryable struct{ err error }

func (e retryable) Error() string   { return e.err.Error() }
func (e retryable) Unwrap() error   { return e.err }
func (e retryable) Retryable() bool { return true }

// Transient wraps err as retryable: connection lost, deadlock, lock wait
// timeout, serialization failure, read-only during failover.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err}
}

// Retryable reports whether err (or an error it wraps) is marked
// retryable. Context cancellation is not: the caller is shutting down.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}
