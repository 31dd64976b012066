package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// testConfig stands in for a service config: shared blocks plus fields of
// its own with defaults.
type testConfig struct {
	Name  string `yaml:"name"`
	Note  string `yaml:"note"`
	Kafka Kafka  `yaml:"kafka"`
	HTTP  HTTP   `yaml:"http"`
	Log   Log    `yaml:"log"`
}

func (c *testConfig) SetDefaults() {
	c.Kafka.SetDefaults()
	c.HTTP.SetDefaults()
	c.Log.SetDefaults()
}

func (c *testConfig) Validate() error {
	var p Problems
	if c.Name == "" {
		p.Add("name", "must not be empty")
	}
	p.Merge("kafka", c.Kafka.Validate())
	p.Merge("http", c.HTTP.Validate())
	p.Merge("log", c.Log.Validate())
	return p.Err()
}

func TestGoodFiles(t *testing.T) {
	t.Setenv("SLUICE_TEST_SECRET", "hunter2")
	var c testConfig
	if err := Load("testdata/good/full.yaml", &c); err != nil {
		t.Fatal(err)
	}
	if c.Kafka.Brokers[0] != "127.0.0.1:9092" || c.Kafka.SASL.Password.Reveal() != "hunter2" || c.Note != "costs $5" {
		t.Errorf("expansion wrong: %+v", c)
	}
	if c.HTTP.Listen != "127.0.0.1:9191" || c.Log.Level != "debug" || c.Log.Format != "json" || c.Kafka.ClientID != "sluice" {
		t.Errorf("values/defaults wrong: %+v", c)
	}
	var d testConfig
	if err := Load("testdata/good/defaults.yaml", &d); err != nil {
		t.Fatal(err)
	}
	if d.HTTP.Listen != ":9090" || d.Log.Level != "info" {
		t.Errorf("defaults not applied: %+v", d)
	}
}

// TestBadFiles checks each bad file reports every expected problem: the
// "# want:" lines at its top, one per problem, and no more problems.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bad config files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			wants := wantLines(t, f)
			var c testConfig
			err := Load(f, &c)
			if err == nil {
				t.Fatalf("Load succeeded, want errors %q", wants)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), ": "); len(wants) > 1 && n < len(wants) {
				t.Errorf("want %d problems reported at once, got:\n%v", len(wants), err)
			}
		})
	}
}

func wantLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if w, ok := strings.CutPrefix(s.Text(), "# want: "); ok {
			out = append(out, w)
		}
	}
	return out
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	core, logs := observer.New(zapcore.InfoLevel)
	zap.New(core).Info("cfg", zap.Any("password", s), zap.Stringer("p2", s))
	js, _ := json.Marshal(struct{ P Secret }{s})
	outs := []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), string(js)}
	for _, e := range logs.All() {
		for _, f := range e.Context {
			outs = append(outs, fmt.Sprint(f.Interface), f.String)
		}
	}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret leaked: %q", o)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal lost the value")
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "pw")
	if err := os.WriteFile(secretPath, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yml := "name: x\nkafka:\n  brokers: [a:1]\n  sasl: {mechanism: PLAIN, user: u, password: \"file:" + secretPath + "\"}\n"
	var c testConfig
	if err := Parse("inline", []byte(yml), &c); err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASL.Password.Reveal() != "s3cret" {
		t.Errorf("password = %q", c.Kafka.SASL.Password.Reveal())
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"x: ${A}", "x: 1", ""},
		{"x: ${EMPTY:-d}", "x: ", ""},
		{"x: ${NOPE:-d e}", "x: d e", ""},
		{"x: $$A $5", "x: $A $5", ""},
		{"a: 1\nx: ${NOPE}", "", "line 2: environment variable NOPE is not set"},
	}
	for _, tt := range tests {
		got, err := Expand([]byte(tt.in), lookup)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Expand(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, []byte(tt.want)) {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestTLSConfigErrorsNameTheFile(t *testing.T) {
	_, err := TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}.TLSConfig()
	if err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Errorf("err = %v", err)
	}
	if c, err := (TLS{}).TLSConfig(); c != nil || err != nil {
		t.Errorf("disabled TLS = %v, %v", c, err)
	}
}
