package mongo

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	"go.uber.org/zap"
)

// Policies for values BSON cannot hold exactly.
const (
	// DecimalsDecimal128 (default) stores DECIMAL as Decimal128; a value
	// with more than 34 significant digits is a *sink.RowError.
	DecimalsDecimal128 = "decimal128"
	// DecimalsString stores DECIMAL as its exact text, for servers
	// without Decimal128 (FerretDB).
	DecimalsString = "string"

	// SubMillisError (default) refuses a DATETIME/TIMESTAMP with
	// non-zero digits below the millisecond: BSON dates hold
	// milliseconds, and G8 forbids changing data on the way.
	SubMillisError = "error"
	// SubMillisTruncate drops the digits below the millisecond.
	SubMillisTruncate = "truncate"
	// SubMillisString stores such values as their source text.
	SubMillisString = "string"
)

// Config of a MongoDB sink. The zero value of every field but URI and
// Database is a usable default.
type Config struct {
	// URI is the MongoDB connection string.
	URI string
	// Database holds collections of rows whose Schema is empty, and the
	// sluice_offsets collection.
	Database string
	// Decimals is DecimalsDecimal128 (default) or DecimalsString.
	Decimals string
	// SubMillis is SubMillisError (default), SubMillisTruncate or
	// SubMillisString.
	SubMillis string
	// Logger; nil logs nothing.
	Logger *zap.Logger
	// OnMissing is called for each update without a full document whose
	// document is not in the target (nothing is written: the change
	// cannot be applied to a document that does not exist); may be nil.
	OnMissing func(row *Row)
}

// Validate reports every problem of the config at once.
func (c *Config) Validate() error {
	var errs []error
	if c.URI == "" {
		errs = append(errs, errors.New("uri is empty"))
	} else if _, err := connstring.ParseAndValidate(c.URI); err != nil {
		errs = append(errs, fmt.Errorf("uri: %w", err))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("database is empty (it holds sluice_offsets and collections of rows without a schema)"))
	}
	switch c.Decimals {
	case "", DecimalsDecimal128, DecimalsString:
	default:
		errs = append(errs, fmt.Errorf("decimals %q: want decimal128 or string", c.Decimals))
	}
	switch c.SubMillis {
	case "", SubMillisError, SubMillisTruncate, SubMillisString:
	default:
		errs = append(errs, fmt.Errorf("sub_millis %q: want error, truncate or string", c.SubMillis))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Decimals == "" {
		c.Decimals = DecimalsDecimal128
	}
	if c.SubMillis == "" {
		c.SubMillis = SubMillisError
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}
