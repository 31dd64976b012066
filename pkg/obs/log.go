// Package obs holds what both services use to be observable: the zap
// logger, standard log fields, and the HTTP server for /metrics, /healthz
// and /readyz.
//
// Logs never carry secrets, and never row data at info level: a CDC log
// that prints rows leaks the very data it moves. Metrics registries are
// passed in, never global, so tests can read them.
package obs

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sluice-cdc/sluice/pkg/config"
)

// NewLogger builds the service logger: JSON (default) or console.
func NewLogger(cfg config.Log) (*zap.Logger, error) {
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(strings.ToLower(cfg.Level))); err != nil {
		return nil, fmt.Errorf("log.level %q: %w", cfg.Level, err)
	}
	var zc zap.Config
	switch cfg.Format {
	case "", "json":
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "ts"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		zc.Sampling = nil // a CDC pipeline's errors must all be seen
	case "console":
		zc = zap.NewDevelopmentConfig()
	default:
		return nil, fmt.Errorf("log.format %q: want json or console", cfg.Format)
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.EncoderConfig.MessageKey = "msg"
	zc.EncoderConfig.LevelKey = "level"
	return zc.Build()
}

// Standard fields, so every log line names things the same way.

func Topic(t string) zap.Field         { return zap.String("topic", t) }
func Partition(p int32) zap.Field      { return zap.Int32("partition", p) }
func Offset(o int64) zap.Field         { return zap.Int64("offset", o) }
func Position(p string) zap.Field      { return zap.String("position", p) }
func Table(db, table string) zap.Field { return zap.String("table", db+"."+table) }
