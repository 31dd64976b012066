// Package obs holds what makes both services observable: the zap logger
// and its standard fields, the Prometheus registry, and the HTTP server
// for /metrics, /healthz and /readyz.
//
// Rules for what goes into logs:
//   - never a secret: config.Secret prints as "[redacted]", and nothing
//     else that holds a credential (DSNs with passwords, tokens) is logged;
//   - never row data at info level or above: a CDC log that prints rows
//     leaks the very data it moves. Keys, values and documents may appear
//     at debug level only;
//   - name things with the field helpers below (Topic, Partition, Offset,
//     Position, Table), so every line about a partition or a table can be
//     found with the same query.
//
// Metrics: there is no global registry. A service builds one with
// NewRegistry and passes it (or a prometheus.Registerer) to each component
// that has metrics, so tests read the very registry they gave. Counters
// end in _total; lag and position are gauges.
package obs

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sluice-cdc/sluice/pkg/config"
)

// NewLogger builds the service logger writing to stderr: JSON (the
// production encoder, ISO8601 time under "ts", "level", "msg", "caller")
// or console. There is no sampling: in a CDC pipeline every error line
// matters.
func NewLogger(cfg config.Log) (*zap.Logger, error) {
	return NewLoggerTo(cfg, os.Stderr)
}

// NewLoggerTo is NewLogger writing to w (tests, or a file).
func NewLoggerTo(cfg config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil || level < zapcore.DebugLevel || level > zapcore.ErrorLevel {
		return nil, fmt.Errorf("log.level %q: want debug, info, warn or error", cfg.Level)
	}
	var enc zapcore.Encoder
	switch cfg.Format {
	case "json", "":
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "ts"
		ec.LevelKey = "level"
		ec.MessageKey = "msg"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log.format %q: want json or console", cfg.Format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel), zap.ErrorOutput(zapcore.Lock(os.Stderr))), nil
}

// Standard fields, so every log line names things the same way.

// Topic is the Kafka topic.
func Topic(t string) zap.Field { return zap.String("topic", t) }

// Partition is the Kafka partition.
func Partition(p int32) zap.Field { return zap.Int32("partition", p) }

// Offset is the Kafka offset.
func Offset(o int64) zap.Field { return zap.Int64("offset", o) }

// Position is a source position in its text form (pkg/position).
func Position(p string) zap.Field { return zap.String("position", p) }

// Table is a source or target table, or a MongoDB collection, as
// "db.table".
func Table(db, table string) zap.Field { return zap.String("table", db+"."+table) }

// Group is the Kafka consumer group.
func Group(g string) zap.Field { return zap.String("group", g) }
