package config

import (
	"slices"
	"strings"
)

// HTTP is the listener for /metrics, /healthz and /readyz.
type HTTP struct {
	// Listen is host:port; an empty host listens on every interface, port
	// 0 picks a free port. Default ":9090".
	Listen string `yaml:"listen"`
}

// SetDefaults applies the documented defaults.
func (h *HTTP) SetDefaults() { h.Listen = ":9090" }

// Validate reports every problem of the block.
func (h *HTTP) Validate() error {
	var p Problems
	if msg := checkHostPort(h.Listen, false); msg != "" {
		p.Add("listen", "%q %s (e.g. \":9090\")", h.Listen, msg)
	}
	return p.Err()
}

// Log configures logging (see pkg/obs).
type Log struct {
	// Level is debug, info, warn or error. Default info. Row data is
	// logged at debug only.
	Level string `yaml:"level"`
	// Format is json (for machines) or console (for people). Default json.
	Format string `yaml:"format"`
}

// LogLevels are the accepted Log.Level values.
var LogLevels = []string{"debug", "info", "warn", "error"}

// SetDefaults applies the documented defaults.
func (l *Log) SetDefaults() {
	l.Level = "info"
	l.Format = "json"
}

// Validate reports every problem of the block.
func (l *Log) Validate() error {
	var p Problems
	if !slices.Contains(LogLevels, l.Level) {
		p.Add("level", "%q is not one of %s", l.Level, strings.Join(LogLevels, ", "))
	}
	if l.Format != "json" && l.Format != "console" {
		p.Add("format", "%q is not json or console", l.Format)
	}
	return p.Err()
}
