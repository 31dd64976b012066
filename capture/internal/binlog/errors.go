package binlog

import (
	"errors"
	"fmt"
)

// ErrTxnInterrupted matches (errors.Is) the error Run returns when the
// connection was lost after rows of an unfinished transaction were sent.
// The error's Retryable method reports true: the caller aborts what it
// holds of the transaction and runs the reader again from the last
// committed position (see the package documentation).
var ErrTxnInterrupted = errors.New("binlog: transaction interrupted after some of its rows were sent")

// ErrPositionPurged matches the error returned when the binlog needed to
// resume from a position is no longer on the server: capture cannot go on
// without losing changes (G6). The message names the gap and the recovery.
var ErrPositionPurged = errors.New("binlog position is no longer available on the server")

// interruptedError is the concrete ErrTxnInterrupted.
type interruptedError struct {
	txID  string
	cause error
}

func (e *interruptedError) Error() string {
	return fmt.Sprintf("%v (transaction %s): %v; restart from the last committed position", ErrTxnInterrupted, e.txID, e.cause)
}

func (e *interruptedError) Is(target error) bool { return target == ErrTxnInterrupted }
func (e *interruptedError) Unwrap() error        { return e.cause }

// Retryable tells the pipeline to restart the source from its last
// committed position instead of stopping.
func (e *interruptedError) Retryable() bool { return true }

// fatalError marks an error that retrying cannot fix: configuration,
// server settings, data the reader cannot represent, a purged position.
// Run returns it at once instead of reconnecting.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatalf(format string, args ...any) error { return &fatalError{fmt.Errorf(format, args...)} }

func isFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

// connLostError marks a lost or failed replication connection: the reader
// reconnects (or reports ErrTxnInterrupted).
type connLostError struct{ err error }

func (e *connLostError) Error() string { return e.err.Error() }
func (e *connLostError) Unwrap() error { return e.err }
