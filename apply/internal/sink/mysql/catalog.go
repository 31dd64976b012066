package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// column is what apply needs to know of a target column.
type column struct {
	name     string // as the target spells it
	dataType string // DATA_TYPE, lower case: "bit", "datetime", ...
	typ      string // COLUMN_TYPE: "bit(12)", "int(10) unsigned", ...
	bitWidth int    // n of BIT(n), 0 for other types
	// generated is set for VIRTUAL and STORED generated columns.
	generated bool
	// untyped is how a value of unknown source type (a genuine peer's
	// message) is read for this column; see sink.ConvertUntyped.
	untyped sink.Target
}

// untypedTarget classifies a column for sink.ConvertUntyped from its
// DATA_TYPE, NUMERIC_SCALE and DATETIME_PRECISION. MariaDB's JSON is a
// LONGTEXT with a json_valid check: TargetOther, which writes a JSON
// value's text as it is, is what it needs.
func untypedTarget(dataType string, scale, frac sql.NullInt64) sink.Target {
	t := sink.Target{Scale: -1, Frac: int(frac.Int64)}
	if scale.Valid {
		t.Scale = int(scale.Int64)
	}
	switch dataType {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		t.Kind = sink.TargetBinary
	case "json":
		t.Kind = sink.TargetJSON
	case "set":
		t.Kind = sink.TargetSet
	case "decimal", "numeric":
		t.Kind = sink.TargetDecimal
	case "date":
		t.Kind = sink.TargetDate
	case "datetime":
		t.Kind = sink.TargetDateTime
	case "timestamp":
		t.Kind = sink.TargetTimestamp
	case "time":
		t.Kind = sink.TargetTime
	}
	return t
}

// table is a target table's columns, by lower-case name: MySQL column
// names are case-insensitive, so a mapped "ID" writes column "id".
type table struct {
	cols  map[string]*column
	order []*column // in ORDINAL_POSITION order
}

func (t *table) column(name string) *column { return t.cols[strings.ToLower(name)] }

// catalog caches target tables. A table is read from information_schema
// once; it is read again only when a row names a column the cached copy
// lacks (the table may have been altered since), so a steady stream costs
// no catalog queries.
type catalog struct {
	db *sql.DB

	mu     sync.Mutex
	tables map[string]*table // schema + "\x00" + table
}

func newCatalog(db *sql.DB) *catalog {
	return &catalog{db: db, tables: map[string]*table{}}
}

// get returns the table, from the cache unless reload is set. A table the
// target does not have is (nil, nil).
func (c *catalog) get(ctx context.Context, schema, name string, reload bool) (*table, error) {
	key := schema + "\x00" + name
	if !reload {
		c.mu.Lock()
		t, ok := c.tables[key]
		c.mu.Unlock()
		if ok {
			return t, nil
		}
	}
	// Loaded outside the lock: a slow catalog query must not stall the
	// other partitions' workers, and two concurrent loads are harmless.
	t, err := c.load(ctx, schema, name)
	if err != nil || t == nil {
		return nil, err
	}
	c.mu.Lock()
	c.tables[key] = t
	c.mu.Unlock()
	return t, nil
}

// forget drops a cached table, after the server said it changed (unknown
// column, no such table), so a retry after the operator's fix sees it anew.
func (c *catalog) forget(schema, name string) {
	c.mu.Lock()
	delete(c.tables, schema+"\x00"+name)
	c.mu.Unlock()
}

func (c *catalog) load(ctx context.Context, schema, name string) (*table, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_SCALE, DATETIME_PRECISION, EXTRA FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", schema, name)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err))
	}
	defer rows.Close()
	t := &table{cols: map[string]*column{}}
	for rows.Next() {
		col := &column{}
		var scale, frac sql.NullInt64
		var extra string
		if err := rows.Scan(&col.name, &col.dataType, &col.typ, &scale, &frac, &extra); err != nil {
			return nil, classify(fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err))
		}
		col.dataType = strings.ToLower(col.dataType)
		col.untyped = untypedTarget(col.dataType, scale, frac)
		if col.dataType == "bit" {
			col.bitWidth = typeWidth(col.typ)
		}
		col.generated = strings.Contains(strings.ToUpper(extra), "GENERATED")
		t.cols[strings.ToLower(col.name)] = col
		t.order = append(t.order, col)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err))
	}
	if len(t.cols) == 0 {
		return nil, nil
	}
	return t, nil
}

// typeWidth is n in "bit(n)"; 1 for a bare "bit", as the server means.
func typeWidth(typ string) int {
	i, j := strings.IndexByte(typ, '('), strings.IndexByte(typ, ')')
	if i < 0 || j < i {
		return 1
	}
	n, err := strconv.Atoi(typ[i+1 : j])
	if err != nil || n <= 0 {
		return 1
	}
	return n
}

// TargetColumns implements sink.Catalog.
func (s *Sink) TargetColumns(ctx context.Context, schema, table string, reload bool) ([]sink.TargetColumn, error) {
	if schema == "" {
		schema = s.cfg.Database
	}
	t, err := s.cat.get(ctx, schema, table, reload)
	if err != nil || t == nil {
		return nil, err
	}
	out := make([]sink.TargetColumn, len(t.order))
	for i, c := range t.order {
		out[i] = sink.TargetColumn{Name: c.name, JSON: c.dataType == "json", Generated: c.generated}
	}
	return out, nil
}
