package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/pkg/config"
)

// env is the environment the testdata files see.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func decodeFile(t *testing.T, path string, lookup func(string) (string, bool)) (*Config, error) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	err = config.Decode(path, raw, lookup, &cfg)
	return &cfg, err
}

// TestConfigFiles drives testdata/*.yaml: good files decode and a check
// looks at the result; *.bad.yaml files fail naming every problem (field
// path and, where the field is in the file, its line) in one error.
func TestConfigFiles(t *testing.T) {
	secrets := env(map[string]string{"SOURCE_PASSWORD": "s3cret-src", "KAFKA_PASSWORD": "s3cret-kafka"})
	for _, tc := range []struct {
		file  string
		check func(*testing.T, *Config)
		want  []string // substrings of the error, for bad files
	}{
		{file: "good.yaml", check: func(t *testing.T, c *Config) {
			if c.Name != "shop" || c.Source.Kind != "mariadb" || len(c.Source.Addrs) != 2 || c.Source.ServerID != 4242 ||
				c.Source.Heartbeat != 2*time.Second || c.Keyless != "full_row" || c.Format != "debezium" ||
				!c.Debezium.Schema || !c.Debezium.Tombstones || c.Topics.Template != "cdc.{db}.{table}" ||
				c.Topics.Partitions != 6 || c.Topics.ReplicationFactor != 3 || c.Topics.MinInsyncReplicas != 2 ||
				c.Topics.Compression != "lz4" || c.Transactions.CommitEvery != 500 || c.Transactions.CommitInterval != time.Second ||
				c.Transactions.Timeout != 2*time.Minute || c.Start.Default != "earliest" || c.HTTP.Listen != "127.0.0.1:9191" ||
				c.Log.Level != "debug" || c.ShutdownTimeout != time.Minute {
				t.Errorf("decoded %+v", c)
			}
			if c.Source.Password.Reveal() != "s3cret-src" || c.Kafka.SASL.Password.Reveal() != "s3cret-kafka" {
				t.Error("secrets were not read from the environment")
			}
			// Fields the file leaves out keep their defaults.
			if !c.Transactions.Enabled || c.Topics.Prefix != "sluice" || c.ConnectTimeout != DefaultConnectTimeout {
				t.Errorf("defaults lost: %+v", c)
			}
			if c.TransactionalID() != "shop-capture" {
				t.Errorf("transactional id %q", c.TransactionalID())
			}
		}},
		{file: "minimal.yaml", check: func(t *testing.T, c *Config) {
			if c.Format != "maxwell" || c.Keyless != "refuse" || !c.Transactions.Enabled || c.Start.Default != "latest" ||
				c.Topics.Template != "{prefix}.{db}.{table}" || c.Topics.Partitions != -1 || c.Topics.Compression != "zstd" ||
				c.Source.Heartbeat != DefaultHeartbeat || c.HTTP.Listen != ":9090" || c.Log.Format != "json" ||
				c.ShutdownTimeout != DefaultShutdownTimeout {
				t.Errorf("defaults: %+v", c)
			}
			if c.TransactionalID() != "sluice-capture-shop" {
				t.Errorf("default transactional id %q", c.TransactionalID())
			}
		}},
		{file: "every-problem.bad.yaml", want: []string{
			"line 1: name: required",
			"source.kind", "source.addrs[0]", "source.addrs[1]", "source.user", "source.server_id", "source.heartbeat",
			"source.tls.enabled",
			`line 9: include[0]: "shop": want 2 dot-separated parts`, `line 10: exclude_columns[0]: "shop.users": want 3`,
			"keyless", "format", "topics.template", "topics.partitions", "topics.replication_factor", "topics.compression",
			"transactions.commit_every", "transactions.timeout", "start.default", "shutdown_timeout",
			"kafka.brokers", "kafka.sasl.mechanism", "http.listen", "log.level",
		}},
		{file: "unknown-field.bad.yaml", want: []string{"line 5", "partitons"}},
		{file: "unset-env.bad.yaml", want: []string{"line 2", "SLUICE_TEST_UNSET_PASSWORD"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := decodeFile(t, filepath.Join("testdata", tc.file), secrets)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, cfg)
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, not a *config.Error: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if strings.HasSuffix(tc.file, "every-problem.bad.yaml") && len(ce.Problems) < len(tc.want) {
				t.Errorf("%d problems for %d expected:\n%v", len(ce.Problems), len(tc.want), err)
			}
		})
	}
}

// TestExampleConfigIsValid keeps capture.example.yaml loadable and its
// values the documented defaults.
func TestExampleConfigIsValid(t *testing.T) {
	path := filepath.Join("..", "..", "capture.example.yaml")
	cfg, err := decodeFile(t, path, func(k string) (string, bool) { return "secret-" + k, true })
	if err != nil {
		t.Fatal(err)
	}
	var def Config
	def.SetDefaults()
	if cfg.Topics != def.Topics || cfg.Transactions != def.Transactions || cfg.Start != def.Start || cfg.Keyless != def.Keyless ||
		cfg.Format != def.Format || cfg.Source.Heartbeat != def.Source.Heartbeat || cfg.Source.RetryWindow != def.Source.RetryWindow ||
		cfg.ConnectTimeout != def.ConnectTimeout || cfg.ShutdownTimeout != def.ShutdownTimeout || cfg.HTTP != def.HTTP || cfg.Log != def.Log {
		t.Errorf("the example's values differ from the defaults:\nexample  %+v\ndefaults %+v", cfg, def)
	}
	if cfg.Source.Password.Reveal() != "secret-SOURCE_PASSWORD" {
		t.Errorf("password %q", cfg.Source.Password.Reveal())
	}
}

// TestSecretsDoNotPrint: a loaded config printed any way shows no secret.
func TestSecretsDoNotPrint(t *testing.T) {
	cfg, err := decodeFile(t, filepath.Join("testdata", "good.yaml"), env(map[string]string{"SOURCE_PASSWORD": "s3cret-src", "KAFKA_PASSWORD": "s3cret-kafka"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "s3cret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestOverrides(t *testing.T) {
	cfg, err := decodeFile(t, filepath.Join("testdata", "minimal.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Apply(Overrides{NoTransactions: true, Listen: "127.0.0.1:0", LogLevel: "warn"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Transactions.Enabled || cfg.HTTP.Listen != "127.0.0.1:0" || cfg.Log.Level != "warn" {
		t.Errorf("overrides not applied: %+v", cfg)
	}
	if err := cfg.Apply(Overrides{LogLevel: "chatty"}); err == nil || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("a bad flag value: %v", err)
	}
}

func TestCheckFrom(t *testing.T) {
	for _, ok := range []string{"earliest", "latest", "gtid:0-1-5", "file:mariadb-bin.000003:4", `{"gtid":"0-1-5"}`} {
		if err := CheckFrom(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"yesterday", "gtid:", "file:x", "time:2026-01-02T15:04:05Z", "token:8263A1"} {
		if err := CheckFrom(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestRedactGrants(t *testing.T) {
	for in, want := range map[string]string{
		"GRANT SELECT ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'": "GRANT SELECT ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '[redacted]'",
		"GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED VIA ed25519 USING 'abc\\'def'; GRANT X":                   "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED VIA ed25519 USING '[redacted]'; GRANT X",
		"ALL PRIVILEGES on *.*": "ALL PRIVILEGES on *.*",
	} {
		if got := redactGrants(in); got != want {
			t.Errorf("redactGrants(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
