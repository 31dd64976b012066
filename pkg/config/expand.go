package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expandTree replaces environment references in every scalar value of the
// tree, in place. Keys and comments are left alone: a reference in a
// comment is documentation, and a key that depends on the environment
// would make the set of options depend on it too.
//
// Each scalar is expanded exactly once (alias nodes are skipped, their
// anchor is expanded where it stands), and the result is not scanned
// again, so a value from the environment that contains "${" stays literal.
func expandTree(n *yaml.Node, path string, lookup func(string) (string, bool), p *[]Problem) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			expandTree(c, path, lookup, p)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandTree(n.Content[i+1], joinPath(path, n.Content[i].Value), lookup, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandTree(c, path+"["+strconv.Itoa(i)+"]", lookup, p)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, errs := expand(n.Value, lookup)
		for _, e := range errs {
			*p = append(*p, Problem{Path: path, Line: lineOf(n, e.at), Msg: e.msg})
		}
		if len(errs) > 0 || v == n.Value {
			return
		}
		n.Value = v
		if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			// A plain scalar is typed by its text: drop the tag the parser
			// gave "${PORT}" (a string) so "9092" decodes into an int.
			// Quote the reference to keep the value a string.
			n.Tag = ""
		}
	}
}

// lineOf is the line of byte offset at within a scalar's value. Only
// literal block scalars keep their line breaks; for other styles the
// scalar's first line is the best we know.
func lineOf(n *yaml.Node, at int) int {
	if n.Style&yaml.LiteralStyle != 0 {
		return n.Line + 1 + strings.Count(n.Value[:at], "\n")
	}
	return n.Line
}

type expandErr struct {
	at  int
	msg string
}

// expand resolves the references in one scalar:
//
//	${NAME}           the variable's value; an error if it is not set
//	${NAME:-default}  the value, or default when unset or empty (as in sh)
//	$$                a literal $
//
// A "$" followed by anything else is literal ("costs $5"), but a "${"
// that does not form a reference is an error rather than text, because
// it almost always is a typo in a reference.
func expand(s string, lookup func(string) (string, bool)) (string, []expandErr) {
	var b strings.Builder
	var errs []expandErr
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) || (s[i+1] != '$' && s[i+1] != '{') {
			b.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			errs = append(errs, expandErr{i, fmt.Sprintf("unterminated %q: want ${NAME} or ${NAME:-default}; write $$ for a literal $", s[i:])})
			break
		}
		body := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(body, ":-")
		switch v, ok := lookup(name); {
		case !validEnvName(name):
			errs = append(errs, expandErr{i, fmt.Sprintf("invalid reference ${%s}: want ${NAME} or ${NAME:-default} with NAME of letters, digits and _; write $$ for a literal $", body)})
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			errs = append(errs, expandErr{i, fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for an optional value)", name, name)})
		}
		i += 2 + end + 1
	}
	return b.String(), errs
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
