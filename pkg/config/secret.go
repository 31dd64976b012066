package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a string that does not print. fmt (%v, %+v, %s, %#v), JSON,
// YAML, text marshalling, slog and zap (zap.Any, zap.Stringer,
// zap.Reflect) all see "[redacted]"; an unset secret prints as "" so a
// dump still shows whether it is set. Reveal returns the value, and is
// the only way to get it.
//
// In YAML a secret is either a string, usually "${ENV_VAR}", or a mapping
// naming a file whose content is the secret, the way Kubernetes and Docker
// mount secrets:
//
//	password: ${KAFKA_PASSWORD}
//	password: {file: /run/secrets/kafka-password}
//
// One trailing line break of the file is dropped (editors add one); other
// whitespace is kept, it may be part of the secret.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString covers %#v, which would otherwise print the raw string.
func (s Secret) GoString() string { return "config.Secret(" + fmt.Sprintf("%q", s.String()) + ")" }

// Format covers the verbs fmt does not route through String (%q, %x, %d
// ...), so no verb prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.String())
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalJSON, MarshalYAML and MarshalText redact too, so dumping a loaded
// config (--check-config, a debug endpoint) is safe.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", s.String())), nil }
func (s Secret) MarshalYAML() (any, error)    { return s.String(), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps slog from logging the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// UnmarshalYAML reads the string or {file: path} form. Problems are
// returned as *yaml.TypeError so the decoder goes on and reports the other
// problems of the file in the same run.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = Secret(n.Value)
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 || n.Content[0].Value != "file" || n.Content[1].Kind != yaml.ScalarNode {
			return secretErr(n.Line, "a secret is a string or {file: /path/to/secret}")
		}
		path := n.Content[1].Value
		if path == "" {
			return secretErr(n.Line, "secret file path is empty")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return secretErr(n.Line, fmt.Sprintf("reading secret file: %v", err))
		}
		v := strings.TrimSuffix(string(b), "\n")
		*s = Secret(strings.TrimSuffix(v, "\r"))
		return nil
	}
	return secretErr(n.Line, "a secret is a string or {file: /path/to/secret}")
}

func secretErr(line int, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", line, msg)}}
}
