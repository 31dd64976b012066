package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v3"
)

// TestSecretNeverPrints loads a config whose password comes from the
// environment and prints it every way a service might.
func TestSecretNeverPrints(t *testing.T) {
	c, err := loadTest("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const value = "hunter2"
	if c.Kafka.SASL.Password.Reveal() != value {
		t.Fatalf("Reveal = %q", c.Kafka.SASL.Password.Reveal())
	}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Kafka.SASL.Password), fmt.Sprintf(verb, &c))
	}
	outs = append(outs, fmt.Sprint(c.Kafka), fmt.Sprintln(c.Kafka.SASL))

	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js), string(ym))

	var zbuf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&zbuf), zapcore.DebugLevel))
	log.Info("config", zap.Any("cfg", c), zap.Any("password", c.Kafka.SASL.Password),
		zap.Stringer("p2", c.Kafka.SASL.Password), zap.Reflect("sasl", c.Kafka.SASL))
	log.Sugar().Infow("sugar", "password", c.Kafka.SASL.Password, "cfg", c)

	var sbuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&sbuf, nil)).Info("config", "password", c.Kafka.SASL.Password, "cfg", c)
	outs = append(outs, zbuf.String(), sbuf.String())

	for _, o := range outs {
		if strings.Contains(o, value) || strings.Contains(o, fmt.Sprintf("%x", value)) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	// Redaction must still show that a secret is set.
	if !strings.Contains(zbuf.String(), redacted) || !strings.Contains(string(js), redacted) {
		t.Errorf("no redaction marker in output: %s %s", zbuf.String(), js)
	}
	if Secret("").String() != "" {
		t.Error("an unset secret should print empty")
	}
}

func TestSecretForms(t *testing.T) {
	tests := []struct {
		yaml, want, err string
	}{
		{`p: plain`, "plain", ""},
		{`p: "file:/not/a/file"`, "file:/not/a/file", ""}, // only the mapping form reads files
		{`p: {file: testdata/secrets/kafka-password}`, "s3cret pass", ""},
		{`p: {file: ""}`, "", "secret file path is empty"},
		{`p: {path: /x}`, "", "a secret is a string or {file: /path/to/secret}"},
		{`p: [a]`, "", "a secret is a string or {file: /path/to/secret}"},
	}
	for _, tt := range tests {
		var v struct {
			P Secret `yaml:"p"`
		}
		err := yaml.Unmarshal([]byte(tt.yaml), &v)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "line 1") {
				t.Errorf("%s: err = %v, want %q with its line", tt.yaml, err, tt.err)
			}
			continue
		}
		if err != nil || v.P.Reveal() != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.yaml, v.P.Reveal(), err, tt.want)
		}
	}
}
