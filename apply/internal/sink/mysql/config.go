package mysql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"
)

// DefaultMaxParams is the default bound on the placeholders of one
// statement: the protocol counts them in 16 bits (65535), and the margin
// leaves room should a statement ever gain fixed parameters.
const DefaultMaxParams = 65000

// Config of a MySQL/MariaDB sink. The zero value of every field but DSN
// is a usable default.
type Config struct {
	// DSN in go-sql-driver form, "user:pass@tcp(host:3306)/db?params".
	// The session settings apply needs (see sessionParams) override any
	// the DSN sets.
	DSN string
	// Database holds rows whose Schema is empty, and the sluice_offsets
	// (and sluice_origin) tables. Default: the DSN's database.
	Database string
	// ZeroDates is ZeroDatesKeep (default), ZeroDatesNull or
	// ZeroDatesError.
	ZeroDates string
	// MaxParams bounds the placeholders of one statement; a run that
	// needs more is split. Default DefaultMaxParams; at most 65535.
	MaxParams int
	// OriginTag, when set, is written to sluice_origin at the start of
	// every transaction, so a capture of this database can recognise the
	// transactions apply wrote and not send them back (DESIGN §9).
	OriginTag string
	// Logger; nil logs nothing.
	Logger *zap.Logger
	// OnZeroDate is called for each zero date written as NULL
	// (ZeroDatesNull), to count them; may be nil.
	OnZeroDate func()
}

// Validate reports every problem of the config at once.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("dsn is empty"))
	} else if dc, err := mysql.ParseDSN(c.DSN); err != nil {
		errs = append(errs, fmt.Errorf("dsn: %w", err))
	} else if c.Database == "" && dc.DBName == "" {
		errs = append(errs, errors.New("no database: set database or name one in the dsn (it holds sluice_offsets)"))
	}
	switch c.ZeroDates {
	case "", ZeroDatesKeep, ZeroDatesNull, ZeroDatesError:
	default:
		errs = append(errs, fmt.Errorf("zero_dates %q: want keep, null or error", c.ZeroDates))
	}
	if c.MaxParams < 0 || c.MaxParams > 65535 {
		errs = append(errs, fmt.Errorf("max_params %d: want 1..65535 (0 for the default)", c.MaxParams))
	}
	if len(c.OriginTag) > 255 {
		errs = append(errs, errors.New("origin tag longer than 255 characters"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with defaults filled in; c must be valid.
func (c Config) withDefaults() Config {
	if c.ZeroDates == "" {
		c.ZeroDates = ZeroDatesKeep
	}
	if c.MaxParams == 0 {
		c.MaxParams = DefaultMaxParams
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Database == "" {
		if dc, err := mysql.ParseDSN(c.DSN); err == nil {
			c.Database = dc.DBName
		}
	}
	return c
}

// driverConfig is the DSN with apply's session settings. They are
// connection parameters, which the driver sets on every new connection,
// so no pooled connection ever writes with the server's defaults.
func (c Config) driverConfig() (*mysql.Config, error) {
	dc, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("parsing the target dsn: %w", err)
	}
	if dc.Params == nil {
		dc.Params = map[string]string{}
	}
	for k, v := range sessionParams(c.ZeroDates) {
		for old := range dc.Params {
			if strings.EqualFold(old, k) {
				delete(dc.Params, old) // the DSN's own setting would race ours
			}
		}
		dc.Params[k] = v
	}
	// utf8mb4, or emoji would be refused (or worse, replaced) on the way.
	collation := dc.Collation
	if !strings.HasPrefix(collation, "utf8mb4_") {
		collation = "utf8mb4_general_ci"
	}
	if err := dc.Apply(mysql.Charset("utf8mb4", collation)); err != nil {
		return nil, fmt.Errorf("setting the connection charset: %w", err)
	}
	// Ask the server for max_allowed_packet instead of assuming 64 MiB: a
	// statement the server finds too large drops the connection, which
	// would look transient and be retried forever.
	dc.MaxAllowedPacket = 0
	// The driver writes the arguments into the statement text itself
	// (escaped for utf8mb4, which it checks is safe) instead of a
	// server-side prepare per statement: one round trip instead of two,
	// and no prepare response with a packet per placeholder. That is about
	// 30% more rows/s (BenchmarkUpsert), with the same stored values
	// (TestAllTypes runs both ways). interpolateParams=false in the DSN
	// keeps server-side prepares.
	if !strings.Contains(c.DSN, "interpolateParams=") {
		dc.InterpolateParams = true
	}
	dc.Logger = driverLogger{c.Logger}
	return dc, nil
}

// driverLogger sends the driver's own messages (a connection that broke
// under it, say) to the sink's logger instead of the process's stderr.
type driverLogger struct{ log *zap.Logger }

func (l driverLogger) Print(v ...any) {
	l.log.Warn("mysql driver", zap.String("message", strings.TrimSpace(fmt.Sprint(v...))))
}

// sessionParams are the session variables of every connection.
//
//   - time_zone +00:00: TIMESTAMP values arrive as UTC text and must be
//     stored as such, whatever the server's zone.
//   - STRICT_ALL_TABLES: a value the column cannot hold fails the
//     statement instead of being clipped with a warning (G6, G8).
//   - NO_AUTO_VALUE_ON_ZERO: a source row with id 0 keeps id 0 rather
//     than taking the next AUTO_INCREMENT value.
//   - NO_ZERO_DATE and NO_ZERO_IN_DATE only when zero dates are not
//     kept: apply converts or refuses them itself, and the server then
//     catches any that reach it another way.
//
// Every other mode is off on purpose, whatever the server's default
// (ANSI_QUOTES or NO_BACKSLASH_ESCAPES would change how text is read).
func sessionParams(zeroDates string) map[string]string {
	mode := "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO"
	if zeroDates != ZeroDatesKeep {
		mode += ",NO_ZERO_DATE,NO_ZERO_IN_DATE"
	}
	return map[string]string{
		"time_zone": "'+00:00'",
		"sql_mode":  "'" + mode + "'",
	}
}
