package mysql

import (
	"context"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := "u:p@tcp(127.0.0.1:3306)/target"
	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none = valid
	}{
		{"minimal", Config{DSN: good}, nil},
		{"database from config", Config{DSN: "u:p@tcp(127.0.0.1:3306)/", Database: "d"}, nil},
		{"all set", Config{DSN: good, ZeroDates: ZeroDatesNull, MaxParams: 1000, OriginTag: "dc1"}, nil},
		{"empty", Config{}, []string{"dsn is empty"}},
		{"no database", Config{DSN: "u:p@tcp(127.0.0.1:3306)/"}, []string{"no database"}},
		{"bad dsn", Config{DSN: "not a dsn"}, []string{"dsn:"}},
		{"everything wrong", Config{DSN: good, ZeroDates: "zero", MaxParams: 70000, OriginTag: strings.Repeat("x", 256)},
			[]string{"zero_dates", "max_params", "origin tag"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestSession: every pooled connection runs with apply's settings, even
// when the DSN asks for others.
func TestSession(t *testing.T) {
	for _, zd := range []string{ZeroDatesKeep, ZeroDatesError} {
		t.Run(zd, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.ZeroDates = zd
				c.DSN += "&sql_mode=%27ANSI_QUOTES%27&time_zone=%27%2B02:00%27"
			})
			// Hold several connections at once so more than one is checked.
			ctx := context.Background()
			for range 3 {
				conn, err := f.s.db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				var mode, tz, cs string
				if err := conn.QueryRowContext(ctx, "SELECT @@sql_mode, @@time_zone, @@character_set_client").Scan(&mode, &tz, &cs); err != nil {
					t.Fatal(err)
				}
				if tz != "+00:00" || cs != "utf8mb4" || strings.Contains(mode, "ANSI_QUOTES") || !strings.Contains(mode, "STRICT_ALL_TABLES") ||
					strings.Contains(mode, "NO_ZERO_DATE") != (zd != ZeroDatesKeep) {
					t.Errorf("session: sql_mode=%s time_zone=%s charset=%s", mode, tz, cs)
				}
			}
		})
	}
}
