package verify

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sluice-cdc/sluice/apply/internal/mapping"
)

// Mapping is the part of apply's mapping rule that changes what the target
// holds: which columns, under what names, plus static columns.
type Mapping struct {
	Include []string
	Exclude []string
	Rename  map[string]string
	Static  map[string]string
}

func (m Mapping) keeps(col string) bool {
	if len(m.Include) > 0 && !slices.Contains(m.Include, col) {
		return false
	}
	return !slices.Contains(m.Exclude, col)
}

func (m Mapping) targetName(col string) string {
	if to, ok := m.Rename[col]; ok {
		return to
	}
	return col
}

func (m Mapping) staticNames() []string {
	var names []string
	for k := range m.Static {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Resolved is where apply's mapping sends a source table.
type Resolved struct {
	Schema, Table string // target schema ("" for the target's default) and table
	Mapping       Mapping
	// Warnings name the parts of the rule verify cannot honour: a row
	// filter (rows it drops show as missing).
	Warnings []string
}

// Resolve finds the target of source table db.table under apply's
// mapping config, the way apply's mapper does (first matching rule; {db}
// and {table} in the target; schema_from_source).
func Resolve(cfg mapping.Config, db, table string) (Resolved, error) {
	r := Resolved{Table: table}
	if cfg.SchemaFromSource {
		r.Schema = db
	}
	var rule *mapping.Rule
	for i := range cfg.Rules {
		d, t, _ := strings.Cut(cfg.Rules[i].Source, ".")
		okd, _ := path.Match(d, db)
		okt, _ := path.Match(t, table)
		if okd && okt {
			rule = &cfg.Rules[i]
			break
		}
	}
	if rule == nil {
		return r, nil
	}
	if rule.Skip {
		return r, fmt.Errorf("the mapping skips %s.%s (rule %q): apply does not copy it", db, table, rule.Source)
	}
	if rule.Target != "" {
		t := strings.NewReplacer("{db}", db, "{table}", table).Replace(rule.Target)
		if s, tb, ok := strings.Cut(t, "."); ok {
			r.Schema, r.Table = s, tb
		} else {
			r.Table = t
		}
	}
	r.Mapping = Mapping{Include: rule.Include, Exclude: rule.Exclude, Rename: rule.Rename, Static: rule.Static}
	if rule.Filter != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("rule %q has a row filter: verify compares every source row, so rows the filter drops are reported missing", rule.Source))
	}
	return r, nil
}
