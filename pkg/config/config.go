// Package config loads the YAML configuration of a Sluice service.
//
// Loading goes:
//
//  1. parse the YAML into a node tree;
//  2. expand ${VAR} and ${VAR:-default} from the environment in scalar
//     values only (not keys, not comments); $$ is a literal $. An unset
//     variable without a default is an error naming it and its line,
//     never an empty string: an empty password or broker list is not what
//     anyone meant;
//  3. reject unknown fields, with their line and the known ones, because a
//     misspelt option silently ignored is how data gets lost;
//  4. decode over the defaults (SetDefaults runs first, so a value in the
//     file wins, even an explicit false or 0);
//  5. Validate, which reports every problem at once with its field path.
//
// Inside flow collections ([a, b] or {k: v}) quote a reference:
// "${HOST}:9092". YAML reserves { and } there, so an unquoted reference
// is a syntax error.
//
// Steps 2-4 also report all their problems at once. If any of them fail,
// validation is skipped: checking a half-decoded struct only adds noise.
//
// Secrets are Secret values, which never print. Building blocks shared by
// the services (Kafka, HTTP, Log) live here with their defaults and
// validation; turning them into client options is the job of the packages
// that own the clients.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Validator is implemented by service config structs (as a pointer).
type Validator interface {
	// SetDefaults sets every field that has a default. It is called on the
	// zero value before the file is decoded into it.
	SetDefaults()
	// Validate returns every problem (build it with Problems), or nil.
	Validate() error
}

// Load reads the YAML file at path into dst, a pointer to a config struct;
// see the package comment for the steps. Variables come from the process
// environment. A failure is an *Error listing every problem found.
func Load(path string, dst Validator) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	return Decode(path, raw, os.LookupEnv, dst)
}

// Decode is Load on bytes already read, with variables from lookup; name
// is the file name used in errors.
func Decode(name string, raw []byte, lookup func(string) (string, bool), dst Validator) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config.Decode: dst must be a non-nil pointer, got %T", dst)
	}
	dst.SetDefaults()

	root, err := parseOne(raw)
	if err != nil {
		return &Error{File: name, Problems: []Problem{{Line: yamlErrLine(err.Error()), Msg: trimLine(err.Error())}}}
	}
	lines := map[string]int{}
	if root != nil {
		var probs []Problem
		expandTree(root, "", lookup, &probs)
		checkFields(root, rv.Type(), "", lines, &probs)
		if len(probs) == 0 {
			probs = decodeTree(root, dst)
		}
		if len(probs) > 0 {
			slices.SortStableFunc(probs, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
			return &Error{File: name, Problems: probs}
		}
	}

	err = dst.Validate()
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{File: name, Problems: []Problem{{Msg: err.Error()}}}
	}
	out := &Error{File: name, Problems: slices.Clone(e.Problems)}
	for i, p := range out.Problems {
		if p.Line == 0 {
			out.Problems[i].Line = lineFor(lines, p.Path)
		}
	}
	return out
}

// lineFor is the line of path, or of its nearest ancestor present in the
// file: a missing "kafka.sasl.user" points at the "sasl:" block.
func lineFor(lines map[string]int, path string) int {
	for path != "" {
		if n, ok := lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// parseOne parses the single document of a config file; nil for an empty
// file.
func parseOne(raw []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document; a config file holds one", extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	return &root, nil
}

// decodeTree decodes the checked tree, collecting every type error.
func decodeTree(root *yaml.Node, dst any) []Problem {
	err := root.Decode(dst)
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{{Line: yamlErrLine(err.Error()), Msg: trimLine(err.Error())}}
	}
	probs := make([]Problem, 0, len(te.Errors))
	for _, m := range te.Errors {
		probs = append(probs, Problem{Line: yamlErrLine(m), Msg: trimLine(m)})
	}
	return probs
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlErrLine and trimLine move the "line N:" the yaml package puts in
// its messages into Problem.Line, so every problem prints the same way.
func yamlErrLine(msg string) int {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func trimLine(msg string) string {
	if m := yamlLine.FindStringIndex(msg); m != nil {
		return msg[m[1]:]
	}
	return msg
}
