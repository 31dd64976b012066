package mariadb

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"syscall"

	"github.com/go-sql-driver/mysql"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// Server errors worth retrying with the same batch.
var transientCodes = map[uint16]bool{
	1205: true, // lock wait timeout
	1213: true, // deadlock
	1290: true, // --read-only (failover in progress)
	1792: true, // read-only transaction
	1053: true, // server shutdown in progress
	1927: true, // connection killed
	2006: true, // server has gone away
	2013: true, // lost connection during query
	1040: true, // too many connections
	4031: true, // disconnected by the server (MySQL 8)
}

// Server errors about the data or the schema: the batch will never go in
// as it is (G6).
var rowCodes = map[uint16]bool{
	1048: true, // column cannot be null
	1054: true, // unknown column
	1062: true, // duplicate entry (a unique secondary key)
	1146: true, // table does not exist
	1264: true, // out of range
	1265: true, // data truncated
	1292: true, // incorrect datetime/date value
	1366: true, // incorrect value
	1406: true, // data too long
	1451: true, // foreign key (parent row)
	1452: true, // foreign key (child row)
	3140: true, // invalid JSON
	4025: true, // CHECK constraint (MariaDB)
	3819: true, // CHECK constraint (MySQL)
}

// "... for column 'c' at row 3" or "... for column `db`.`t`.`c` at row 3"
var columnAtRow = regexp.MustCompile("column (?:'([^']+)'|(?:`[^`]*`\\.)*`([^`]+)`) at row ([0-9]+)")

// classify marks err retryable, or turns a data error into a *RowError
// naming the row of rows it is about (the first when the server does not
// say).
func classify(err error, rows []*sink.Row) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch {
		case transientCodes[me.Number]:
			return sink.Transient(err)
		case rowCodes[me.Number] && len(rows) > 0:
			re := &sink.RowError{Row: rows[0], Err: err}
			if m := columnAtRow.FindStringSubmatch(me.Message); m != nil {
				re.Column = m[1] + m[2]
				if n, _ := strconv.Atoi(m[3]); n >= 1 && n <= len(rows) {
					re.Row = rows[n-1]
				}
			}
			return re
		}
		return err
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &ne) {
		return sink.Transient(err)
	}
	return err
}
