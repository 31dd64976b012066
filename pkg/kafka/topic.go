package kafka

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultTopicTemplate is the topic of a table (or collection) when the
// configuration names none: "<prefix>.<db>.<table>" (DESIGN §4).
const DefaultTopicTemplate = "{prefix}.{db}.{table}"

// MaxTopicLen is the longest topic name Kafka accepts.
const MaxTopicLen = 249

// Placeholders a topic template may use. {collection} is {table} under the
// name MongoDB users expect.
var placeholders = []string{"{prefix}", "{db}", "{table}", "{collection}"}

// TopicName expands a topic template such as "sluice.{db}.{table}" for one
// table. The placeholders are {prefix}, {db}, {table} and {collection} (the
// same as {table}).
//
// Kafka topic names may only hold [a-zA-Z0-9._-]. In the substituted
// names every other character (each rune, so "é" is one) becomes '_', the
// way Debezium does it: "shop-eu"."Order Items" → "sluice.shop-eu.Order_Items".
// The literal text of the template is not rewritten: an illegal character
// there is a configuration error. So is an empty substituted name, a
// result of "." or "..", or one longer than MaxTopicLen.
//
// Distinct tables can map to one name ("a b" and "a_b"); Topics detects
// that at runtime. Kafka itself also refuses to create a topic that
// differs from an existing one only by '.' versus '_' (their metric names
// collide); EnsureTopic reports that refusal as an error.
func TopicName(template, prefix, db, table string) (string, error) {
	var b strings.Builder
	rest := template
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			open = len(rest)
		}
		lit := rest[:open]
		if i := illegalIndex(lit); i >= 0 {
			r, _ := utf8.DecodeRuneInString(lit[i:])
			return "", fmt.Errorf("topic template %q: character %q is not allowed in a Kafka topic name (only a-z A-Z 0-9 . _ -)", template, r)
		}
		b.WriteString(lit)
		rest = rest[open:]
		if rest == "" {
			break
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return "", fmt.Errorf("topic template %q: unclosed '{'", template)
		}
		ph := rest[:end+1]
		rest = rest[end+1:]
		var v, what string
		switch ph {
		case "{prefix}":
			v, what = prefix, "prefix"
		case "{db}":
			v, what = db, "database name"
		case "{table}", "{collection}":
			v, what = table, "table name"
		default:
			return "", fmt.Errorf("topic template %q: unknown placeholder %s (known: %s)", template, ph, strings.Join(placeholders, " "))
		}
		if v == "" {
			return "", fmt.Errorf("topic template %q uses %s but the %s is empty", template, ph, what)
		}
		b.WriteString(sanitize(v))
	}
	name := b.String()
	switch {
	case name == "":
		return "", fmt.Errorf("topic template %q gives an empty topic name", template)
	case name == "." || name == "..":
		return "", fmt.Errorf("topic template %q gives %q, which Kafka does not allow as a topic name", template, name)
	case len(name) > MaxTopicLen:
		return "", fmt.Errorf("topic %q for %s.%s is %d characters, over Kafka's limit of %d; use a shorter topic template", name, db, table, len(name), MaxTopicLen)
	}
	return name, nil
}

func legal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// illegalIndex returns the byte index of the first character of s that a
// topic name may not hold, or -1.
func illegalIndex(s string) int {
	for i := 0; i < len(s); i++ {
		if !legal(s[i]) {
			return i
		}
	}
	return -1
}

// sanitize replaces every rune outside [a-zA-Z0-9._-] by '_'. Invalid UTF-8
// bytes count as one rune each.
func sanitize(s string) string {
	if illegalIndex(s) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf && legal(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Topics names the topics of one capture and remembers which source each
// name belongs to, so two tables mapping to one topic fail loudly instead of
// merging their streams. It is not safe for concurrent use.
type Topics struct {
	template, prefix string
	bySource         map[[2]string]string
	owner            map[string]string // topic -> "db.table" or what reserved it
}

// NewTopics checks template and returns an empty Topics. An empty template
// means DefaultTopicTemplate.
func NewTopics(template, prefix string) (*Topics, error) {
	if template == "" {
		template = DefaultTopicTemplate
	}
	if _, err := TopicName(template, prefix, "db", "table"); err != nil {
		return nil, err
	}
	return &Topics{template: template, prefix: prefix,
		bySource: map[[2]string]string{}, owner: map[string]string{}}, nil
}

// Template returns the template in use.
func (t *Topics) Template() string { return t.template }

// Reserve claims name for something other than a table (the positions
// topic), so no table's topic may take it.
func (t *Topics) Reserve(name, what string) error {
	if o, ok := t.owner[name]; ok && o != what {
		return fmt.Errorf("topic %q is wanted by both %s and %s", name, o, what)
	}
	t.owner[name] = what
	return nil
}

// Name returns the topic of db.table. A name already taken by another
// table or a reserved topic is an error naming both.
func (t *Topics) Name(db, table string) (string, error) {
	k := [2]string{db, table}
	if n, ok := t.bySource[k]; ok {
		return n, nil
	}
	n, err := TopicName(t.template, t.prefix, db, table)
	if err != nil {
		return "", err
	}
	src := db + "." + table
	if o, ok := t.owner[n]; ok {
		return "", fmt.Errorf("table %s maps to topic %q, which %s already uses (template %q; characters outside a-z A-Z 0-9 . _ - become '_'): change the topic template or exclude one of them", src, n, o, t.template)
	}
	t.owner[n] = "table " + src
	t.bySource[k] = n
	return n, nil
}
