package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// family is what the sink must know about a target column's type to put
// a value into it exactly. Types outside these families get the value's
// text and rely on the type's input function.
type family uint8

const (
	famOther family = iota
	famBool
	famInt2
	famInt4
	famInt8
	famNumeric
	famFloat4
	famFloat8
	famText // text, varchar, bpchar, name, citext
	famBytea
	famJSON // json and jsonb
	famDate
	famTimestamp
	famTimestamptz
	famTime
	famTimetz
	famInterval
	famBit
	famVarbit
	famEnum      // a user-defined enum: the label as text
	famTextArray // an array of text-like or enum elements, for SET members
)

// column is one target column as the catalog describes it.
type column struct {
	name string
	// typ is format_type() of the column: for messages and for the COPY
	// method's temporary table.
	typ string
	fam family
	// typmod is the column's (or its domain's) type modifier, -1 for none.
	typmod    int32
	generated bool
	// maxChars is n of varchar(n) and char(n), 0 for no limit; padded is
	// char(n), which drops trailing spaces beyond n rather than failing.
	maxChars int
	padded   bool
	// oid is the column's type; arrayOID the type of an array of it, 0
	// when there is none (the column is itself an array) or when its
	// array literal is not comma-separated (box): such columns are
	// written with VALUES rather than unnest.
	oid, arrayOID uint32
}

// numericPrecScale decodes numeric's typmod; ok is false when the column
// is unconstrained numeric. The scale is an 11-bit signed field since
// PostgreSQL 15 (numeric(5,-2) rounds to hundreds).
func (c *column) numericPrecScale() (prec, scale int, ok bool) {
	if c.typmod < 4 {
		return 0, 0, false
	}
	m := int(c.typmod - 4)
	return (m >> 16) & 0xffff, ((m & 0x7ff) ^ 1024) - 1024, true
}

// fracDigits is how many fractional second digits the column keeps:
// timestamp(p), time(p), interval(p); 6 when unconstrained.
func (c *column) fracDigits() int {
	if c.typmod < 0 {
		return 6
	}
	if c.fam == famInterval {
		if p := int(c.typmod & 0xffff); p != 0xffff {
			return p
		}
		return 6
	}
	return int(c.typmod)
}

// intervalDropsSeconds reports an interval column with a field
// restriction that ends before SECOND (interval hour to minute): it would
// silently drop the seconds of a MySQL TIME.
func (c *column) intervalDropsSeconds() bool {
	if c.fam != famInterval || c.typmod < 0 {
		return false
	}
	const fullRange, second = 0x7fff, 1 << 12
	r := int(c.typmod>>16) & 0x7fff
	return r != fullRange && r&second == 0
}

// table is one target table, loaded once and replaced, never mutated, when
// it is reloaded.
type table struct {
	schema, name string
	ident        string // quoted "schema"."table"
	cols         map[string]*column
	order        []*column // in attnum order
	// uniques are the column sets of the table's unique indexes that ON
	// CONFLICT can use as arbiters (not partial, no expressions, not
	// deferrable), each sorted.
	uniques [][]string
	// tmp is the name of this version's temporary table for the COPY
	// method; a reloaded table gets a new one, since its columns differ.
	tmp string
}

func (t *table) hasUnique(names []string) bool {
	s := slices.Clone(names)
	slices.Sort(s)
	for _, u := range t.uniques {
		if slices.Equal(u, s) {
			return true
		}
	}
	return false
}

type tableKey struct{ schema, name string }

// table returns the cached table, loading it on first use; reload forces a
// fresh load (a row names a column the cached table does not have: the
// table may have been altered since). A missing table is not cached, so
// creating it is enough to resume. It returns nil, nil when the table
// does not exist.
func (s *Sink) table(ctx context.Context, schema, name string, reload bool) (*table, error) {
	k := tableKey{schema, name}
	s.mu.Lock()
	t := s.tables[k]
	s.mu.Unlock()
	if t != nil && !reload {
		return t, nil
	}
	t, err := s.loadTable(ctx, schema, name)
	if err != nil || t == nil {
		return nil, err
	}
	s.mu.Lock()
	s.nextTmp++
	t.tmp = "sluice_copy_" + strconv.Itoa(s.nextTmp)
	s.tables[k] = t
	s.mu.Unlock()
	if reload {
		s.log.Info("reloaded target table from the catalog", tableField(schema, name))
	}
	return t, nil
}

// forget drops a cached table after the target refused a statement in a
// way that suggests the cache is out of date (a column or type changed).
func (s *Sink) forget(schema, name string) {
	s.mu.Lock()
	delete(s.tables, tableKey{schema, name})
	s.mu.Unlock()
}

const columnsSQL = `
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '',
       bt.typname::text, bt.typtype::text, bt.typcategory::text,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       COALESCE(et.typname::text, ''), COALESCE(et.typtype::text, ''), COALESCE(et.typcategory::text, ''),
       a.atttypid, CASE WHEN t.typdelim = ',' THEN t.typarray ELSE 0 END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

const uniquesSQL = `
SELECT array_agg(a.attname::text)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts
GROUP BY i.indexrelid`

func (s *Sink) loadTable(ctx context.Context, schema, name string) (*table, error) {
	var oid uint32
	err := s.pool.QueryRow(ctx, `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, schema, name).Scan(&oid)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, classify(fmt.Errorf("looking up target table %s.%s: %w", schema, name, err))
	}
	t := &table{schema: schema, name: name, ident: pgx.Identifier{schema, name}.Sanitize(), cols: map[string]*column{}}
	rows, err := s.pool.Query(ctx, columnsSQL, oid)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err))
	}
	for rows.Next() {
		var (
			c                       column
			base, typtype, cat      string
			elem, elemType, elemCat string
		)
		if err := rows.Scan(&c.name, &c.typ, &c.generated, &base, &typtype, &cat, &c.typmod, &elem, &elemType, &elemCat,
			&c.oid, &c.arrayOID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err)
		}
		c.fam = familyOf(base, typtype, cat)
		if (base == "varchar" || base == "bpchar") && c.typmod > 4 {
			c.maxChars, c.padded = int(c.typmod-4), base == "bpchar"
		}
		if cat == "A" {
			if f := familyOf(elem, elemType, elemCat); f == famText || f == famEnum {
				c.fam = famTextArray
			}
		}
		t.cols[c.name] = &c
		t.order = append(t.order, &c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("reading the columns of %s.%s: %w", schema, name, err))
	}
	rows, err = s.pool.Query(ctx, uniquesSQL, oid)
	if err != nil {
		return nil, classify(fmt.Errorf("reading the unique indexes of %s.%s: %w", schema, name, err))
	}
	for rows.Next() {
		var u []string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the unique indexes of %s.%s: %w", schema, name, err)
		}
		slices.Sort(u)
		t.uniques = append(t.uniques, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("reading the unique indexes of %s.%s: %w", schema, name, err))
	}
	return t, nil
}

// familyOf classifies a base type by its name in pg_type; a name alone is
// enough because the built-in types live in pg_catalog and a user type of
// the same name would have its own input function of the same meaning.
func familyOf(typname, typtype, category string) family {
	switch typname {
	case "bool":
		return famBool
	case "int2":
		return famInt2
	case "int4":
		return famInt4
	case "int8":
		return famInt8
	case "numeric":
		return famNumeric
	case "float4":
		return famFloat4
	case "float8":
		return famFloat8
	case "text", "varchar", "bpchar", "name", "citext":
		return famText
	case "bytea":
		return famBytea
	case "json", "jsonb":
		return famJSON
	case "date":
		return famDate
	case "timestamp":
		return famTimestamp
	case "timestamptz":
		return famTimestamptz
	case "time":
		return famTime
	case "timetz":
		return famTimetz
	case "interval":
		return famInterval
	case "bit":
		return famBit
	case "varbit":
		return famVarbit
	}
	if typtype == "e" {
		return famEnum
	}
	return famOther
}

// TargetColumns implements sink.Catalog.
func (s *Sink) TargetColumns(ctx context.Context, schema, table string, reload bool) ([]sink.TargetColumn, error) {
	if schema == "" {
		schema = s.cfg.Schema
	}
	t, err := s.table(ctx, schema, table, reload)
	if err != nil || t == nil {
		return nil, err
	}
	out := make([]sink.TargetColumn, len(t.order))
	for i, c := range t.order {
		out[i] = sink.TargetColumn{Name: c.name, JSON: c.fam == famJSON, Generated: c.generated}
	}
	return out, nil
}
