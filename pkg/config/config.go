// Package config loads the YAML configuration of a Sluice service.
//
// Loading is: read the file, expand ${VAR} / ${VAR:-default} from the
// environment, decode strictly (an unknown field is an error with its line
// number, because a misspelt option silently ignored is how data gets
// lost), apply defaults, then Validate, which reports every problem at once.
// Secrets are config.Secret values, which never print.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Validator is implemented by service config structs.
type Validator interface {
	// SetDefaults fills zero fields with their documented defaults.
	SetDefaults()
	// Validate returns every problem (use Problems), or nil.
	Validate() error
}

// Load reads path into dst (a pointer to a config struct), expanding
// environment variables, then applies defaults and validates.
func Load(path string, dst Validator) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, raw, dst)
}

// Parse is Load on bytes already read; name is used in error messages.
func Parse(name string, raw []byte, dst Validator) error {
	expanded, err := Expand(raw, os.LookupEnv)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", name, err)
	}
	dst.SetDefaults()
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("%s: invalid configuration:\n%w", name, err)
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Expand replaces ${VAR} and ${VAR:-default} with environment values; $$
// is a literal $. A variable that is unset and has no default is an error
// naming it and its line: an empty password or broker list is never what
// was meant.
func Expand(raw []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var missing []string
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			if string(m) == "$$" {
				return []byte("$")
			}
			sub := envRef.FindSubmatch(m)
			name := string(sub[1])
			if v, ok := lookup(name); ok {
				return []byte(v)
			}
			if sub[2] != nil {
				return sub[3]
			}
			missing = append(missing, fmt.Sprintf("line %d: environment variable %s is not set (use ${%s:-default} for an optional value)", i+1, name, name))
			return m
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(missing, "\n"))
	}
	return bytes.Join(lines, []byte("\n")), nil
}

// Problems collects validation problems with the path of the field each is
// about, so a user fixes a config in one round, not one error at a time.
type Problems struct{ list []string }

// Add records a problem with field path (e.g. "kafka.brokers").
func (p *Problems) Add(path, format string, args ...any) {
	p.list = append(p.list, path+": "+fmt.Sprintf(format, args...))
}

// Merge adds another error's problems (from a nested Validate) under prefix.
func (p *Problems) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if line != "" {
			p.list = append(p.list, prefix+"."+line)
		}
	}
}

// Err returns nil when there are no problems, else one error listing them
// one per line, sorted by path for stable output.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	sorted := append([]string(nil), p.list...)
	sort.Strings(sorted)
	return problemsError(sorted)
}

type problemsError []string

func (e problemsError) Error() string { return strings.Join(e, "\n") }

// Secret is a string that never prints: fmt, JSON, YAML and zap all see
// "[redacted]". Use Reveal where the value is really needed.
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

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalJSON and MarshalYAML redact too, so dumping a config is safe.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }
func (s Secret) MarshalYAML() (any, error)    { return s.String(), nil }

// UnmarshalYAML lets a secret be read from a file: a value "file:/path"
// is replaced by the file's content (trailing newline trimmed), the usual
// way Kubernetes and Docker mount secrets.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var v string
	if err := n.Decode(&v); err != nil {
		return err
	}
	if path, ok := strings.CutPrefix(v, "file:"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("line %d: reading secret file: %w", n.Line, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
	}
	*s = Secret(v)
	return nil
}
