package obs

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/config"
)

func TestNewLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLoggerTo(config.Log{Level: "info", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden at info")
	log.Info("stopped", Topic("sluice.shop.orders"), Partition(3), Offset(42),
		Position(`{"gtid":"0-1-5"}`), Table("shop", "orders"), Group("to-pg"))
	_ = log.Sync()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered), got %d:\n%s", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	want := map[string]any{
		"level": "info", "msg": "stopped", "topic": "sluice.shop.orders", "partition": 3.0,
		"offset": 42.0, "position": `{"gtid":"0-1-5"}`, "table": "shop.orders", "group": "to-pg",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	ts, _ := m["ts"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-Z]`).MatchString(ts) {
		t.Errorf("ts = %v, want ISO8601", m["ts"])
	}
	if c, _ := m["caller"].(string); !strings.HasPrefix(c, "obs/log_test.go:") {
		t.Errorf("caller = %v", m["caller"])
	}
}

func TestNewLoggerConsoleAndLevels(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLoggerTo(config.Log{Level: "debug", Format: "console"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("row", Table("shop", "orders"))
	if out := buf.String(); !strings.Contains(out, "\tDEBUG\t") || !strings.Contains(out, `"table": "shop.orders"`) {
		t.Errorf("console output = %q", out)
	}

	buf.Reset()
	log, err = NewLoggerTo(config.Log{Level: "warn", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("no")
	log.Warn("yes")
	if out := buf.String(); strings.Contains(out, `"no"`) || !strings.Contains(out, `"level":"warn"`) {
		t.Errorf("warn logger output = %q", out)
	}

	for _, bad := range []struct {
		cfg  config.Log
		name string // the bad value the error must name
	}{
		{config.Log{Level: "loud", Format: "json"}, `"loud"`},
		{config.Log{Level: "fatal", Format: "json"}, `"fatal"`}, // valid in zap, not in our config
		{config.Log{Level: "info", Format: "xml"}, `"xml"`},
	} {
		if _, err := NewLoggerTo(bad.cfg, &buf); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("%+v: err = %v, want one naming %s", bad.cfg, err, bad.name)
		}
	}
}
