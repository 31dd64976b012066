// Package filter decides which databases, tables and columns capture
// publishes. Patterns are shell-style globs (path.Match syntax) over
// "db.table" for tables and "db.table.column" for columns, e.g. "shop.*",
// "shop.audit_*", "shop.users.password_hash".
//
// A table is captured when it matches at least one include pattern (or the
// include list is empty) and no exclude pattern. Exclusion wins, so a broad
// include with narrow excludes reads naturally. System schemas are never
// captured: their changes are server bookkeeping, not user data.
package filter

import (
	"fmt"
	"path"
	"strings"
)

// systemDBs are skipped whatever the patterns say.
var systemDBs = map[string]bool{
	"mysql": true, "sys": true, "information_schema": true, "performance_schema": true,
}

// Filter is an immutable, compiled set of patterns. The zero value captures
// every non-system table and every column.
type Filter struct {
	include, exclude, excludeColumns [][]string
}

// New validates the patterns and returns a Filter. Every bad pattern is
// reported, not just the first.
func New(include, exclude, excludeColumns []string) (*Filter, error) {
	var problems []string
	check := func(kind string, pats []string, parts int) {
		for i, p := range pats {
			if p == "" {
				problems = append(problems, fmt.Sprintf("%s[%d]: empty pattern", kind, i))
				continue
			}
			if _, err := path.Match(p, ""); err != nil {
				problems = append(problems, fmt.Sprintf("%s[%d] %q: %v", kind, i, p, err))
				continue
			}
			if n := strings.Count(p, ".") + 1; n != parts {
				problems = append(problems, fmt.Sprintf("%s[%d] %q: want %d dot-separated parts, got %d", kind, i, p, parts, n))
			}
		}
	}
	check("include", include, 2)
	check("exclude", exclude, 2)
	check("exclude_columns", excludeColumns, 3)
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid filter patterns:\n  %s", strings.Join(problems, "\n  "))
	}
	return &Filter{include: split(include), exclude: split(exclude), excludeColumns: split(excludeColumns)}, nil
}

// split turns "db.table" patterns into parts so each name is matched on its
// own: "*" must not match across the dot ("shop.*" is not "shop.x.y").
func split(pats []string) [][]string {
	out := make([][]string, len(pats))
	for i, p := range pats {
		out[i] = strings.Split(p, ".")
	}
	return out
}

// Table reports whether changes of db.table are captured.
func (f *Filter) Table(db, table string) bool {
	if systemDBs[strings.ToLower(db)] {
		return false
	}
	if f == nil {
		return true
	}
	if len(f.include) > 0 && !matchAny(f.include, db, table) {
		return false
	}
	return !matchAny(f.exclude, db, table)
}

// Column reports whether column col of db.table is published. Key columns
// are always published by the caller regardless (a message without its key
// cannot be applied); see capture's config validation.
func (f *Filter) Column(db, table, col string) bool {
	if f == nil || len(f.excludeColumns) == 0 {
		return true
	}
	return !matchAny(f.excludeColumns, db, table, col)
}

// HasColumnExcludes reports whether any column pattern is configured, so
// the hot path can skip per-column checks entirely.
func (f *Filter) HasColumnExcludes() bool { return f != nil && len(f.excludeColumns) > 0 }

func matchAny(pats [][]string, names ...string) bool {
next:
	for _, parts := range pats {
		if len(parts) != len(names) {
			continue
		}
		for i, p := range parts {
			// Patterns were validated in New, so Match cannot fail here.
			if ok, _ := path.Match(p, names[i]); !ok {
				continue next
			}
		}
		return true
	}
	return false
}
