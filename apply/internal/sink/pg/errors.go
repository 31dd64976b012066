package pg

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// classify marks err retryable, or turns a data or schema error into a
// *RowError about the first row of rows (PostgreSQL does not say which row
// of a multi-row statement failed; its detail usually names the key).
func classify(err error, rows []*sink.Row) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			pe.Code == "55P03",                                         // lock not available
			pe.Code == "25006",                                         // read-only transaction (failover)
			strings.HasPrefix(pe.Code, "08"),                           // connection exceptions
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, crash, cannot connect now
			pe.Code == "53300": // too many connections
			return sink.Transient(err)
		case len(rows) > 0 && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23") ||
			pe.Code == "42703" || pe.Code == "42P01" || pe.Code == "42P10" || pe.Code == "42804"):
			re := &sink.RowError{Row: rows[0], Column: pe.ColumnName, Err: err}
			if pe.Detail != "" {
				re.Err = errors.Join(err, errors.New(pe.Detail))
			}
			if pe.Code == "42P10" {
				re.Err = errors.Join(err, errors.New("the target table needs a primary key or unique index on the key columns"))
			}
			return re
		}
		return err
	}
	var ne net.Error
	if pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne) {
		return sink.Transient(err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return sink.Transient(err)
	}
	return err
}
