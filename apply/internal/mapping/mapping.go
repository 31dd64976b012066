// Package mapping turns decoded change events into target rows: which
// table a source table goes to, which columns travel and under what names,
// static columns, and row filters. Rules are compiled once per table and
// column list, so the per-row cost is a slice copy.
package mapping

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// Rule maps the source tables matching Source.
type Rule struct {
	// Source is db.table; either part may be a glob (shop.*, *.orders).
	Source string `yaml:"source"`
	// Target is the target table, or schema.table; {db} and {table} are
	// replaced by the source names. Default "{table}" in the target's
	// default schema.
	Target string `yaml:"target"`
	// Include lists the only columns to apply; Exclude the columns not to
	// apply. Key columns cannot be left out.
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// Rename maps source column names to target column names.
	Rename map[string]string `yaml:"rename"`
	// Static columns are written with a fixed value on every upsert.
	Static map[string]string `yaml:"static"`
	// Filter keeps only rows that match; see Filter.
	Filter *Filter `yaml:"filter"`
	// Skip drops the matching tables entirely (counted as filtered).
	Skip bool `yaml:"skip"`
}

// Config is the mapping section of the apply config.
type Config struct {
	// Rules are tried in order; the first whose Source matches wins.
	// Tables no rule matches go to a table of the same name in the
	// target's default schema.
	Rules []Rule `yaml:"rules"`
	// SchemaFromSource puts unmapped tables in a schema (PostgreSQL) or
	// database (MySQL) named after the source database, instead of the
	// target's default.
	SchemaFromSource bool `yaml:"schema_from_source"`
	// Documents says how MongoDB documents become rows of a SQL target.
	Documents Documents `yaml:"documents"`
}

// Policies of Documents.
const (
	UnmappedError  = "error"
	UnmappedIgnore = "ignore"
	AbsentNull     = "null"
	AbsentKeep     = "keep"
	JSONRelaxed    = "relaxed"
	JSONCanonical  = "canonical"
)

// Documents is the mapping of MongoDB documents to SQL rows (see
// apply/internal/docsql): top-level fields go to the columns of the same
// name (after rename), _id to the column "_id" unless renamed (rename:
// {_id: id}), nested documents and arrays to JSON columns.
type Documents struct {
	// UnmappedFields: a field without a target column is an error
	// (default: the partition stops with a RowError naming the field) or
	// ignored (not written, counted in sluice_apply_unmapped_fields_total).
	UnmappedFields string `yaml:"unmapped_fields"`
	// AbsentFields: a column the full document has no field for is set
	// to NULL (default: the row mirrors the document, so a removed field
	// clears its column) or kept as the target has it.
	AbsentFields string `yaml:"absent_fields"`
	// JSON is the Extended JSON form of nested values: relaxed (default:
	// {"n": 1, "at": {"$date": "..."}}, what analytics queries expect) or
	// canonical (every BSON type kept: {"n": {"$numberInt": "1"}}).
	JSON string `yaml:"json"`
}

func (d *Documents) validate(p *config.Problems) {
	switch d.UnmappedFields {
	case "", UnmappedError, UnmappedIgnore:
	default:
		p.Add("documents.unmapped_fields", "%q: want error or ignore", d.UnmappedFields)
	}
	switch d.AbsentFields {
	case "", AbsentNull, AbsentKeep:
	default:
		p.Add("documents.absent_fields", "%q: want null or keep", d.AbsentFields)
	}
	switch d.JSON {
	case "", JSONRelaxed, JSONCanonical:
	default:
		p.Add("documents.json", "%q: want relaxed or canonical", d.JSON)
	}
}

// Validate reports every problem of the rules.
func (c *Config) Validate() error {
	var p config.Problems
	c.Documents.validate(&p)
	for i, r := range c.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		bad := func(f string, a ...any) { p.Add(at, f, a...) }
		db, table, ok := strings.Cut(r.Source, ".")
		if !ok || db == "" || table == "" {
			bad("source %q: want db.table (globs allowed, e.g. shop.*)", r.Source)
		} else if _, err := path.Match(db, ""); err != nil {
			bad("source %q: bad pattern: %v", r.Source, err)
		} else if _, err := path.Match(table, ""); err != nil {
			bad("source %q: bad pattern: %v", r.Source, err)
		}
		if len(r.Include) > 0 && len(r.Exclude) > 0 {
			bad("set include or exclude, not both")
		}
		if r.Filter != nil {
			if err := r.Filter.validate(); err != nil {
				bad("filter: %v", err)
			}
		}
		if strings.Count(r.Target, ".") > 1 {
			bad("target %q: want table or schema.table", r.Target)
		}
	}
	return p.Err()
}

// Mapper applies a Config. It caches compiled plans; give each worker its
// own (it is not safe for concurrent use).
type Mapper struct {
	cfg   Config
	plans map[tableName]*plan
}

type tableName struct{ db, table string }

// New returns a Mapper; cfg must be valid.
func New(cfg Config) *Mapper { return &Mapper{cfg: cfg, plans: map[tableName]*plan{}} }

// plan is a rule compiled for one table and column list.
type plan struct {
	srcCols       []event.Column // the column list this plan was built for
	skip          bool
	schema, table string
	keep          []int // source column index per target column (-1: static)
	identity      bool  // keep is 0..n-1 over all source columns: rows map as they are
	cols          []event.Column
	key           []int
	static        []event.Value
	filter        *compiled
}

// Outcome of mapping one event.
const (
	Applied  = iota // out holds the row
	Filtered        // the rule's filter or skip dropped it
)

// Map sets out from e. It returns Filtered when the rule drops the row,
// and an error when e cannot be mapped (a key column excluded, no key).
func (m *Mapper) Map(e *event.Event, out *sink.Row) (int, error) {
	p, err := m.plan(e)
	if err != nil {
		return 0, err
	}
	if p.skip {
		return Filtered, nil
	}
	op := e.Op
	src := e.After
	if op == event.OpDelete {
		src = e.Before
	}
	if p.filter != nil {
		switch op {
		case event.OpDelete:
			if !p.filter.match(e.Columns, e.Before) {
				return Filtered, nil
			}
		case event.OpUpdate:
			after := p.filter.match(e.Columns, e.After)
			if !after {
				if e.Before == nil || !p.filter.match(e.Columns, e.Before) {
					return Filtered, nil
				}
				// The row left the filter: it must leave the target too.
				op, src = event.OpDelete, e.Before
			}
		default:
			if !p.filter.match(e.Columns, e.After) {
				return Filtered, nil
			}
		}
	}
	if len(src) != len(e.Columns) {
		return 0, fmt.Errorf("row image has %d values for %d columns", len(src), len(e.Columns))
	}
	// The event's images are its own (format.Decoder allocates them per
	// message) and sinks only read Values, so an unchanged row is shared.
	vals := src
	if !p.identity {
		vals = make([]event.Value, len(p.keep))
		for i, c := range p.keep {
			if c < 0 {
				vals[i] = p.static[i]
			} else {
				vals[i] = src[c]
			}
		}
	}
	*out = sink.Row{Op: op, Schema: p.schema, Table: p.table, Columns: p.cols, Key: p.key, Values: vals}
	if op == event.OpUpdate && e.Before != nil {
		for _, k := range e.Key {
			if !e.Before[k].Equal(e.After[k]) {
				out.OldKey = make([]event.Value, len(e.Key))
				for j, kk := range e.Key {
					out.OldKey[j] = e.Before[kk]
				}
				break
			}
		}
	}
	return Applied, nil
}

func (m *Mapper) plan(e *event.Event) (*plan, error) {
	name := tableName{e.Database, e.Table}
	if p, ok := m.plans[name]; ok && sameNames(p.srcCols, e.Columns) && sameKeyNames(p, e) {
		return p, nil
	}
	p, err := m.compile(e)
	if err != nil {
		return nil, fmt.Errorf("mapping %s.%s: %w", e.Database, e.Table, err)
	}
	m.plans[name] = p
	return p, nil
}

func sameNames(a, b []event.Column) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Kind != b[i].Kind {
			return false
		}
	}
	return true
}

func sameKeyNames(p *plan, e *event.Event) bool {
	if len(p.key) != len(e.Key) {
		return false
	}
	for i, k := range e.Key {
		if p.keep[p.key[i]] != k {
			return false
		}
	}
	return true
}

func (m *Mapper) rule(db, table string) *Rule {
	for i := range m.cfg.Rules {
		r := &m.cfg.Rules[i]
		d, t, _ := strings.Cut(r.Source, ".")
		if ok, _ := path.Match(d, db); !ok {
			continue
		}
		if ok, _ := path.Match(t, table); ok {
			return r
		}
	}
	return nil
}

func (m *Mapper) compile(e *event.Event) (*plan, error) {
	if len(e.Key) == 0 {
		return nil, errors.New("event has no key columns; apply upserts by key and cannot write it")
	}
	p := &plan{srcCols: e.Columns, table: e.Table}
	if m.cfg.SchemaFromSource {
		p.schema = e.Database
	}
	r := m.rule(e.Database, e.Table)
	if r == nil {
		r = &Rule{}
	}
	if r.Skip {
		p.skip = true
		return p, nil
	}
	if r.Target != "" {
		t := strings.NewReplacer("{db}", e.Database, "{table}", e.Table).Replace(r.Target)
		if s, tb, ok := strings.Cut(t, "."); ok {
			p.schema, p.table = s, tb
		} else {
			p.table = t
		}
	}
	isKey := map[int]bool{}
	for _, k := range e.Key {
		isKey[k] = true
	}
	for _, name := range append(append([]string(nil), r.Include...), r.Exclude...) {
		// A MongoDB document need not have every field: only SQL tables
		// are checked.
		if e.ColumnIndex(name) < 0 && !docrow.IsDoc(e.Columns) {
			return nil, fmt.Errorf("column %q named in include/exclude is not in the source table", name)
		}
	}
	targetIdx := map[int]int{}
	for i, c := range e.Columns {
		drop := (len(r.Include) > 0 && !contains(r.Include, c.Name)) || contains(r.Exclude, c.Name)
		if drop {
			if isKey[i] {
				return nil, fmt.Errorf("key column %q cannot be excluded: apply writes by key", c.Name)
			}
			continue
		}
		col := c
		if to, ok := r.Rename[c.Name]; ok {
			col.Name = to
		}
		targetIdx[i] = len(p.keep)
		p.keep = append(p.keep, i)
		p.cols = append(p.cols, col)
	}
	for _, k := range e.Key {
		p.key = append(p.key, targetIdx[k])
	}
	p.static = make([]event.Value, len(p.keep), len(p.keep)+len(r.Static))
	for _, name := range sortedKeys(r.Static) {
		p.keep = append(p.keep, -1)
		// A static value is text from the config, never a peer's base64
		// or epoch integer: its type is known (see sink.Untyped).
		p.cols = append(p.cols, event.Column{Name: name, Type: "text", Kind: event.String})
		p.static = append(p.static, event.StringValue(r.Static[name]))
	}
	seen := map[string]bool{}
	for _, c := range p.cols {
		if seen[c.Name] {
			return nil, fmt.Errorf("two columns map to target column %q (check rename and static)", c.Name)
		}
		seen[c.Name] = true
	}
	if r.Filter != nil {
		f, err := r.Filter.compile(e.Columns)
		if err != nil {
			return nil, err
		}
		p.filter = f
	}
	p.identity = len(p.keep) == len(e.Columns)
	for i, c := range p.keep {
		p.identity = p.identity && c == i
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
