package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// errClass is what the consumer should do about an error.
type errClass int

const (
	// classFatal stops the partition: a bug, a missing privilege, a
	// server setting; retrying the same batch would fail the same way.
	classFatal errClass = iota
	// classTransient is retried with the same batch: the write may
	// succeed once the connection, the lock or the primary is back.
	classTransient
	// classData is a row the target refuses; it becomes a *RowError
	// naming the row, so the consumer can stop at it or dead-letter it.
	classData
)

// Server error numbers, named where the code decides on them.
var (
	transientCodes = map[uint16]string{
		1040: "too many connections",
		1047: "node not ready (Galera WSREP)",
		1053: "server shutdown in progress",
		1159: "network read timeout",
		1161: "network write timeout",
		1205: "lock wait timeout",
		1213: "deadlock (or Galera certification failure)",
		1290: "server is --read-only (failover)",
		1317: "query interrupted",
		1614: "transaction branch rolled back (deadlock)",
		1792: "read-only transaction (failover)",
		1836: "server in read-only mode",
		1927: "connection killed",
		2006: "server has gone away",
		2013: "lost connection during query",
		4031: "disconnected by the server (idle timeout)",
	}
	dataCodes = map[uint16]string{
		1048: "column cannot be null",
		1054: "unknown column",
		1062: "duplicate key on a unique index",
		1146: "table does not exist",
		1264: "out of range",
		1265: "data truncated",
		1292: "incorrect temporal value",
		1300: "invalid character string",
		1364: "column has no default",
		1365: "division by zero",
		1366: "incorrect value",
		1367: "illegal value",
		1406: "data too long",
		1411: "incorrect value for function",
		1416: "cannot get geometry object",
		1451: "row is referenced by a foreign key",
		1452: "foreign key: parent row missing",
		1690: "value out of range",
		3140: "invalid JSON (MySQL)",
		3144: "JSON from a binary string (MySQL)",
		3819: "check constraint violated (MySQL)",
		4025: "constraint failed (MariaDB, e.g. JSON_VALID)",
	}
)

// classOf classifies an error of the driver or of database/sql.
func classOf(err error) errClass {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return classFatal
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if _, ok := transientCodes[me.Number]; ok {
			return classTransient
		}
		if _, ok := dataCodes[me.Number]; ok {
			return classData
		}
		return classFatal
	}
	// The connection broke: the transaction is gone on the server side,
	// so the whole batch can be retried on a new connection.
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, mysql.ErrPktSync) || errors.Is(err, mysql.ErrPktSyncMul) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &ne) {
		return classTransient
	}
	return classFatal
}

// classify marks transient errors retryable and leaves the others as they
// are; callers that know the rows turn data errors into RowErrors.
func classify(err error) error {
	if classOf(err) == classTransient {
		return sink.Transient(err)
	}
	return err
}

// errCode is the server error number of err, 0 when it has none.
func errCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

var (
	// MySQL quotes a column as 'c'; MariaDB often as `db`.`t`.`c`.
	reColumn = regexp.MustCompile("(?:[Cc]olumn|Field) ('(?:[^']|'')*'|(?:`(?:[^`]|``)*`\\.?)+)")
	reRow    = regexp.MustCompile(`at row (\d+)`)
	reQuoted = regexp.MustCompile("`((?:[^`]|``)*)`")
)

// errColumn is the column a server message names, "" when none.
func errColumn(err error) string {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return ""
	}
	m := reColumn.FindStringSubmatch(me.Message)
	if m == nil {
		return ""
	}
	q := m[1]
	if q[0] == '\'' {
		return strings.ReplaceAll(q[1:len(q)-1], "''", "'")
	}
	parts := reQuoted.FindAllStringSubmatch(q, -1)
	return strings.ReplaceAll(parts[len(parts)-1][1], "``", "`")
}

// errRow is the 1-based row of a multi-row statement a server message
// names ("at row 3"), 0 when none.
func errRow(err error) int {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return 0
	}
	m := reRow.FindStringSubmatch(me.Message)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
