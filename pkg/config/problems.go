package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Path is the field in YAML terms ("kafka.brokers[0]"); empty when the
	// problem is about the file as a whole.
	Path string
	// Line is the 1-based line in the file, 0 when unknown (for example a
	// required field that is absent has no line).
	Line int
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems collects validation problems with the path of the field each is
// about, so a user fixes a config in one round instead of one error per
// restart. The zero value is ready to use.
type Problems struct{ list []Problem }

// Add records a problem about the field at path (e.g. "kafka.brokers").
func (p *Problems) Add(path, format string, args ...any) {
	p.list = append(p.list, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Merge adds the problems of a nested block's Validate under prefix, so a
// block validates with paths relative to itself and the service config
// places it ("kafka" + "brokers" → "kafka.brokers"). An error that is not
// an *Error becomes one problem at prefix.
func (p *Problems) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		p.list = append(p.list, Problem{Path: prefix, Msg: err.Error()})
		return
	}
	for _, q := range e.Problems {
		q.Path = joinPath(prefix, q.Path)
		p.list = append(p.list, q)
	}
}

// Len is the number of problems so far.
func (p *Problems) Len() int { return len(p.list) }

// Err returns nil when there are no problems, else an *Error listing them
// sorted by path, so the output is stable from run to run.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := slices.Clone(p.list)
	slices.SortStableFunc(list, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
	return &Error{Problems: list}
}

// Error is what Load and Validate return: every problem found, one per
// line. Callers that want the list use errors.As.
type Error struct {
	// File is the config file, when known.
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString("config ")
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}
