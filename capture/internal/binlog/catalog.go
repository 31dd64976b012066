package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// catalog answers the two per-table questions the binlog leaves open
// (which MariaDB LONGTEXT columns are JSON, which unique key stands in for
// a missing primary key) from information_schema. Answers are cached per
// table and all forgotten when any DDL passes: working out which tables a
// DDL statement touches (RENAME TABLE a TO b, c TO d; multi-table DROP ...)
// would need an SQL parser, and re-reading a table's answer is cheap.
type catalog struct {
	db     *sql.DB
	flavor string
	json   map[tableName]map[string]bool
	unique map[tableName][]string
}

func newCatalog(s *server) *catalog {
	return &catalog{db: s.db, flavor: s.flavor, json: map[tableName]map[string]bool{}, unique: map[tableName][]string{}}
}

func (c *catalog) forget() {
	clear(c.json)
	clear(c.unique)
}

// lookupErr marks a failed catalog query as a connection problem: the
// reader reconnects (bounded by MaxReconnects) instead of stopping.
func lookupErr(ctx context.Context, what string, n tableName, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &connLostError{fmt.Errorf("reading the %s of %s.%s from information_schema: %w", what, n.db, n.table, err)}
}

// jsonColumns returns the names of the table's JSON columns. Only MariaDB
// needs this: it logs JSON as LONGTEXT, and marks a JSON column by the
// json_valid check constraint it adds, named after the column. MySQL has a
// JSON type in the binlog.
func (c *catalog) jsonColumns(ctx context.Context, n tableName) (map[string]bool, error) {
	if c.flavor != flavorMariaDB {
		return nil, nil
	}
	if m, ok := c.json[n]; ok {
		return m, nil
	}
	rows, err := c.db.QueryContext(ctx,
		"SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?", n.db, n.table)
	if err != nil {
		return nil, lookupErr(ctx, "JSON columns", n, err)
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var clause string
		if err := rows.Scan(&clause); err != nil {
			return nil, lookupErr(ctx, "JSON columns", n, err)
		}
		if col, ok := jsonValidColumn(clause); ok {
			m[col] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, lookupErr(ctx, "JSON columns", n, err)
	}
	c.json[n] = m
	return m, nil
}

// jsonValidColumn recognises the check clause "json_valid(`col`)".
func jsonValidColumn(clause string) (string, bool) {
	clause = strings.TrimSpace(clause)
	const prefix, suffix = "json_valid(`", "`)"
	if len(clause) <= len(prefix)+len(suffix) || !strings.EqualFold(clause[:len(prefix)], prefix) || !strings.HasSuffix(clause, suffix) {
		return "", false
	}
	name := clause[len(prefix) : len(clause)-len(suffix)]
	if strings.Contains(strings.ReplaceAll(name, "``", ""), "`") {
		return "", false // not one quoted identifier, e.g. json_valid(`a`) and x(`b`)
	}
	return strings.ReplaceAll(name, "``", "`"), true
}

// uniqueKey returns the columns of the table's first unique key (by index
// name) whose columns are all NOT NULL, or nil. Such a key identifies a
// row as well as a primary key does (DESIGN §4).
func (c *catalog) uniqueKey(ctx context.Context, n tableName) ([]string, error) {
	if k, ok := c.unique[n]; ok {
		return k, nil
	}
	rows, err := c.db.QueryContext(ctx, `
		SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE
		FROM information_schema.STATISTICS s
		JOIN information_schema.COLUMNS c
		  ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
		WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0
		ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX`, n.db, n.table)
	if err != nil {
		return nil, lookupErr(ctx, "unique keys", n, err)
	}
	defer rows.Close()
	var order []string
	cols := map[string][]string{}
	nullable := map[string]bool{}
	for rows.Next() {
		var index, col, isNullable string
		if err := rows.Scan(&index, &col, &isNullable); err != nil {
			return nil, lookupErr(ctx, "unique keys", n, err)
		}
		if _, seen := cols[index]; !seen {
			order = append(order, index)
		}
		cols[index] = append(cols[index], col)
		nullable[index] = nullable[index] || isNullable == "YES"
	}
	if err := rows.Err(); err != nil {
		return nil, lookupErr(ctx, "unique keys", n, err)
	}
	var key []string
	for _, index := range order {
		if !nullable[index] {
			key = cols[index]
			break
		}
	}
	c.unique[n] = key
	return key, nil
}
