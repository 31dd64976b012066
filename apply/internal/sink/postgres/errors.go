package postgres

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// transientCodes are SQLSTATEs after which the same batch may succeed:
// the transaction lost a race or the server is going away (a failover
// turns the old primary read-only, then shuts it down).
var transientCodes = map[string]bool{
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"40003": true, // statement_completion_unknown
	"55P03": true, // lock_not_available (lock_timeout)
	"57014": true, // query_canceled (statement_timeout; our own cancellations return the context's error)
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now (starting up, in recovery)
	"25006": true, // read_only_sql_transaction (a standby, or a primary being demoted)
	"53300": true, // too_many_connections
}

// classify marks errors worth retrying with the same batch as transient,
// and leaves the rest as they are (fatal).
func classify(err error) error {
	if err == nil || !transient(err) {
		return err
	}
	return sink.Transient(err)
}

func transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return transientCodes[pe.Code] || strings.HasPrefix(pe.Code, "08") // connection_exception
	}
	// Anything else that is not ours is the connection failing: refused,
	// reset, timed out, closed mid-statement.
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return pgconn.SafeToRetry(err) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// rowCode reports SQLSTATEs that mean the target refuses these rows, not
// that it is unavailable: data exceptions (22), integrity constraints
// (23), a row too big for an index (54), and a table or column that does
// not exist or has another type than the cache said (42).
func rowCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "22"), strings.HasPrefix(code, "23"), strings.HasPrefix(code, "54"):
		return true
	}
	switch code {
	case "42703", // undefined_column
		"42P01", // undefined_table
		"42804", // datatype_mismatch
		"42P10": // invalid_column_reference: no unique index for ON CONFLICT
		return true
	}
	return false
}

// locatable reports errors caused by a value of one row (rather than by
// the statement), worth finding the row for.
func locatable(code string) bool {
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23") || strings.HasPrefix(code, "54")
}

// withDetail adds the server's detail and hint (which often name the key
// or the limit) to err.
func withDetail(err error, pe *pgconn.PgError) error {
	var extra []string
	if pe.Detail != "" {
		extra = append(extra, pe.Detail)
	}
	if pe.Hint != "" {
		extra = append(extra, pe.Hint)
	}
	if len(extra) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s", err, strings.Join(extra, "; "))
}
