package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

func TestClassify(t *testing.T) {
	my := func(n uint16, msg string) error { return &mysql.MySQLError{Number: n, Message: msg} }
	wrap := func(err error) error { return fmt.Errorf("upserting 3 rows of `d`.`t`: %w", err) }
	cases := []struct {
		name string
		err  error
		want errClass
	}{
		{"bad conn", driver.ErrBadConn, classTransient},
		{"invalid conn", mysql.ErrInvalidConn, classTransient},
		{"conn done", sql.ErrConnDone, classTransient},
		{"eof", io.EOF, classTransient},
		{"unexpected eof", wrap(io.ErrUnexpectedEOF), classTransient},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, classTransient},
		{"refused", wrap(syscall.ECONNREFUSED), classTransient},
		{"deadlock", wrap(my(1213, "Deadlock found when trying to get lock; try restarting transaction")), classTransient},
		{"lock wait", my(1205, "Lock wait timeout exceeded; try restarting transaction"), classTransient},
		{"read only", my(1290, "The MariaDB server is running with the --read-only option so it cannot execute this statement"), classTransient},
		{"read-only tx", my(1792, "Cannot execute statement in a READ ONLY transaction"), classTransient},
		{"gone away", my(2006, "MySQL server has gone away"), classTransient},
		{"lost", my(2013, "Lost connection to MySQL server during query"), classTransient},
		{"shutdown", my(1053, "Server shutdown in progress"), classTransient},
		{"galera not ready", my(1047, "WSREP has not yet prepared node for application use"), classTransient},
		{"out of range", wrap(my(1264, "Out of range value for column 'b' at row 2")), classData},
		{"truncated", my(1265, "Data truncated for column 'e' at row 1"), classData},
		{"incorrect value", my(1366, "Incorrect integer value: 'x' for column `d`.`t`.`b` at row 1"), classData},
		{"too long", my(1406, "Data too long for column 'a' at row 1"), classData},
		{"bad datetime", my(1292, "Incorrect datetime value: '2024-13-01' for column `d`.`t`.`c` at row 1"), classData},
		{"unknown column", my(1054, "Unknown column 'zz' in 'field list'"), classData},
		{"no table", my(1146, "Table 'd.t' doesn't exist"), classData},
		{"duplicate", my(1062, "Duplicate entry 'x' for key 'email'"), classData},
		{"foreign key", my(1452, "Cannot add or update a child row: a foreign key constraint fails"), classData},
		{"not null", my(1048, "Column 'id' cannot be null"), classData},
		{"json check", my(4025, "CONSTRAINT `t.j` failed for `d`.`t`"), classData},
		{"syntax", my(1064, "You have an error in your SQL syntax"), classFatal},
		{"denied", my(1142, "INSERT command denied to user"), classFatal},
		{"cancelled", wrap(context.Canceled), classFatal},
		{"deadline", context.DeadlineExceeded, classFatal},
		{"other", errors.New("something else"), classFatal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := classOf(c.err); got != c.want {
				t.Errorf("classOf(%v) = %d, want %d", c.err, got, c.want)
			}
			if got := sink.Retryable(classify(c.err)); got != (c.want == classTransient) {
				t.Errorf("Retryable(classify(%v)) = %v", c.err, got)
			}
		})
	}
}

func TestErrColumnAndRow(t *testing.T) {
	cases := []struct {
		msg, col string
		row      int
	}{
		{"Out of range value for column 'b' at row 12", "b", 12},
		{"Incorrect integer value: 'x' for column `d`.`t`.`my col` at row 1", "my col", 1},
		{"Incorrect datetime value: '2024-13-01' for column `d`.`t`.`we``ird` at row 3", "we`ird", 3},
		{"Data too long for column 'it''s' at row 2", "it's", 2},
		{"Column 'id' cannot be null", "id", 0},
		{"Field 'c' doesn't have a default value", "c", 0},
		{"Unknown column 'zz' in 'field list'", "zz", 0},
		{"Duplicate entry 'x' for key 'email'", "", 0},
	}
	for _, c := range cases {
		err := fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 1, Message: c.msg})
		if got := errColumn(err); got != c.col {
			t.Errorf("errColumn(%q) = %q, want %q", c.msg, got, c.col)
		}
		if got := errRow(err); got != c.row {
			t.Errorf("errRow(%q) = %d, want %d", c.msg, got, c.row)
		}
	}
}
