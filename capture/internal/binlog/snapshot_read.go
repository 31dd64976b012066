package binlog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// snapMeta is what reading a table's chunks needs: its published columns
// and key as of the snapshot's start, and the chunk query.
type snapMeta struct {
	db, table string
	cols      []event.Column // published columns, in table order
	key       []int          // indexes into cols
	keyKinds  []event.Kind
	first     string // query of the first chunk (no lower bound)
	next      string // query of later chunks: args are the last key, twice for the leading column
}

// openSnapDB opens the snapshot's connection pool to addr. Values come
// back in the binary protocol (every query is prepared), so FLOAT keeps
// its exact bits and temporal values their column's fraction digits;
// TIMESTAMP is read in UTC, as the binlog reader renders it.
func (r *Reader) openSnapDB(addr string) (*sql.DB, error) {
	return r.openDB(addr, "snapshot", map[string]string{"time_zone": "'+00:00'"})
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// intWidth strips integer display widths, which the binlog does not carry,
// so snapshot rows and streamed rows name the same types.
var intWidth = regexp.MustCompile(`^(tinyint|smallint|mediumint|int|bigint)\(\d+\)`)

// loadMeta reads the table's columns and key from information_schema.
func (r *Reader) loadMeta(ctx context.Context, db *sql.DB, flavor string, db0, tbl string) (*snapMeta, error) {
	n := tableName{db0, tbl}
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db0, tbl)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s.%s: %w", db0, tbl, err)
	}
	var all []event.Column
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		typ = intWidth.ReplaceAllString(strings.ToLower(typ), "$1")
		all = append(all, event.Column{Name: name, Type: typ})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fatalf("snapshot of %s.%s: no such table (or no SELECT privilege on it)", db0, tbl)
	}
	cat := &catalog{db: db, flavor: flavor, json: map[tableName]map[string]bool{}, unique: map[tableName][]string{}}
	jsonCols, err := cat.jsonColumns(ctx, n)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if jsonCols[all[i].Name] && all[i].Type == "longtext" {
			all[i].Type = "json"
		}
		all[i].Kind = event.KindOf(all[i].Type)
	}
	var keyNames []string
	krows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`, db0, tbl)
	if err != nil {
		return nil, fmt.Errorf("reading the primary key of %s.%s: %w", db0, tbl, err)
	}
	for krows.Next() {
		var name string
		if err := krows.Scan(&name); err != nil {
			krows.Close()
			return nil, err
		}
		keyNames = append(keyNames, name)
	}
	krows.Close()
	if len(keyNames) == 0 {
		if keyNames, err = cat.uniqueKey(ctx, n); err != nil {
			return nil, err
		}
	}
	if len(keyNames) == 0 {
		return nil, fatalf("snapshot of %s.%s: the table has no primary key and no unique key on NOT NULL columns, so it cannot be copied in key order; add a key or exclude the table", db0, tbl)
	}
	m := &snapMeta{db: db0, table: tbl}
	isKey := map[string]bool{}
	for _, k := range keyNames {
		isKey[k] = true
	}
	for _, c := range all {
		if isKey[c.Name] || r.cfg.ExcludeColumn == nil || !r.cfg.ExcludeColumn(db0, tbl, c.Name) {
			m.cols = append(m.cols, c)
		}
	}
	for _, k := range keyNames {
		for i, c := range m.cols {
			if c.Name == k {
				m.key = append(m.key, i)
				m.keyKinds = append(m.keyKinds, c.Kind)
			}
		}
	}
	m.buildQueries()
	return m, nil
}

// buildQueries writes the chunk queries. Later chunks use a row-value
// comparison on the key, plus a bound on its leading column so MariaDB's
// range optimizer (which does not use row comparisons) still seeks in the
// key instead of scanning from the start:
//
//	WHERE (k1, k2) > (?, ?) AND k1 >= ? ORDER BY k1, k2 LIMIT n
func (m *snapMeta) buildQueries() {
	var sel, keys, marks strings.Builder
	for i, c := range m.cols {
		if i > 0 {
			sel.WriteString(", ")
		}
		sel.WriteString(quoteIdent(c.Name))
	}
	for i, k := range m.key {
		if i > 0 {
			keys.WriteString(", ")
			marks.WriteString(", ")
		}
		keys.WriteString(quoteIdent(m.cols[k].Name))
		marks.WriteString("?")
	}
	from := " FROM " + quoteIdent(m.db) + "." + quoteIdent(m.table)
	order := " ORDER BY " + keys.String() + " LIMIT ?"
	m.first = "SELECT " + sel.String() + from + order
	lead := quoteIdent(m.cols[m.key[0]].Name)
	if len(m.key) == 1 {
		m.next = "SELECT " + sel.String() + from + " WHERE " + lead + " > ?" + order
	} else {
		m.next = "SELECT " + sel.String() + from + " WHERE (" + keys.String() + ") > (" + marks.String() + ") AND " + lead + " >= ?" + order
	}
}

// estimateRows is information_schema's row estimate of a table (InnoDB's
// is a sample; good enough for an ETA).
func estimateRows(ctx context.Context, db *sql.DB, db0, tbl string) int64 {
	var n sql.NullInt64
	_ = db.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db0, tbl).Scan(&n)
	return n.Int64
}

// snapshotPos opens a consistent snapshot on conn and returns the binlog
// position it corresponds to. The caller ends the transaction.
func snapshotPos(ctx context.Context, conn *sql.Conn, flavor string) (filePos, error) {
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return filePos{}, err
	}
	if flavor != flavorMariaDB {
		return mysqlSnapshotPos(ctx, conn)
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return filePos{}, fmt.Errorf("starting a consistent snapshot: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return filePos{}, fmt.Errorf("reading the snapshot's binlog position: %w", err)
	}
	defer rows.Close()
	var p filePos
	for rows.Next() {
		var name, val string
		if err := rows.Scan(&name, &val); err != nil {
			return filePos{}, err
		}
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			p.file = val
		case "binlog_snapshot_position":
			p.pos, _ = strconv.ParseUint(val, 10, 64)
		}
	}
	if err := rows.Err(); err != nil {
		return filePos{}, err
	}
	if p.file == "" || p.pos == 0 {
		return filePos{}, fatalf("the server reports no binlog_snapshot_file/position (is log_bin on?)")
	}
	return p, nil
}

// mysqlSnapshotPos: MySQL reports no snapshot position, so the binlog
// position is read before and after the snapshot opens and taken only when
// both agree (see the package notes on snapshots for the limitation).
func mysqlSnapshotPos(ctx context.Context, conn *sql.Conn) (filePos, error) {
	status := func() (filePos, error) {
		for _, q := range []string{"SHOW BINARY LOG STATUS", "SHOW MASTER STATUS"} {
			var f string
			var p uint64
			var a, b, c sql.NullString
			err := conn.QueryRowContext(ctx, q).Scan(&f, &p, &a, &b, &c)
			if err == nil {
				return filePos{f, p}, nil
			}
			if ctx.Err() != nil {
				return filePos{}, ctx.Err()
			}
		}
		return filePos{}, errors.New("cannot read the binlog position (SHOW BINARY LOG STATUS)")
	}
	before, err := status()
	if err != nil {
		return filePos{}, err
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return filePos{}, fmt.Errorf("starting a consistent snapshot: %w", err)
	}
	after, err := status()
	if err != nil {
		return filePos{}, err
	}
	if before != after {
		return filePos{}, errStaleChunk // the binlog moved meanwhile; try again
	}
	return after, nil
}

// readRows reads up to limit rows after the key after (nil: from the
// start) inside the transaction open on conn.
func readRows(ctx context.Context, conn *sql.Conn, m *snapMeta, after []any, limit int) ([][]event.Value, error) {
	q, args := m.first, []any{}
	if after != nil {
		q = m.next
		args = append(args, after...)
		if len(m.key) > 1 {
			args = append(args, after[0])
		}
	}
	args = append(args, limit)
	stmt, err := conn.PrepareContext(ctx, q) // prepared: binary protocol, exact values
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s.%s: %w", m.db, m.table, err)
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s.%s: %w", m.db, m.table, err)
	}
	defer rows.Close()
	// Numbers come as int64/uint64/float values (scanned into any, no
	// copy); everything else as bytes scanned into RawBytes, which point
	// into the driver's buffer until the next row: fromDriver copies what
	// it keeps (strings once, bytes and JSON cloned). Rows are cut from
	// one slab per chunk.
	nc := len(m.cols)
	raw := make([]any, nc)
	rawB := make([]sql.RawBytes, nc)
	dest := make([]any, nc)
	for i, c := range m.cols {
		if numericKind(c.Kind) {
			dest[i] = &raw[i]
		} else {
			dest[i] = &rawB[i]
		}
	}
	out := make([][]event.Value, 0, limit)
	var slab []event.Value
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if len(slab) < nc {
			slab = make([]event.Value, nc*min(limit, 1024))
		}
		row := slab[:nc:nc]
		slab = slab[nc:]
		for i, c := range m.cols {
			v := raw[i]
			if !numericKind(c.Kind) {
				v = nil
				if rawB[i] != nil {
					v = []byte(rawB[i])
				}
			}
			if row[i], err = fromDriver(c.Kind, v); err != nil {
				return nil, fatalf("snapshot of %s.%s.%s (%s): %w", m.db, m.table, c.Name, c.Type, err)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// numericKind: the binary protocol returns these as numbers.
func numericKind(k event.Kind) bool {
	return k == event.Int || k == event.Year || k == event.Uint || k == event.Float
}

// fromDriver converts a binary-protocol value (go-sql-driver, ParseTime
// off) to an event value of the column's kind, as exactly as the binlog
// reader would.
func fromDriver(kind event.Kind, v any) (event.Value, error) {
	if v == nil {
		return event.NullValue(), nil
	}
	b, isBytes := v.([]byte)
	switch kind {
	case event.Int, event.Year:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case []byte:
			var err error
			if n, err = strconv.ParseInt(string(x), 10, 64); err != nil {
				return event.Value{}, err
			}
		default:
			return event.Value{}, fmt.Errorf("unexpected %T", v)
		}
		if kind == event.Year {
			return event.YearValue(n), nil
		}
		return event.IntValue(n), nil
	case event.Uint:
		switch x := v.(type) {
		case uint64:
			return event.UintValue(x), nil
		case int64:
			return event.UintValue(uint64(x)), nil
		case []byte:
			n, err := strconv.ParseUint(string(x), 10, 64)
			return event.UintValue(n), err
		}
	case event.Float:
		switch x := v.(type) {
		case float32:
			return event.FloatValue(float64(x)), nil
		case float64:
			return event.FloatValue(x), nil
		}
	case event.Bit:
		if isBytes {
			var n uint64
			for _, c := range b {
				n = n<<8 | uint64(c)
			}
			return event.BitValue(n), nil
		}
		if x, ok := v.(int64); ok {
			return event.BitValue(uint64(x)), nil
		}
	case event.Set:
		if isBytes {
			members := []string{}
			if len(b) > 0 {
				members = strings.Split(string(b), ",")
			}
			return event.SetValue(members), nil
		}
	case event.Bytes:
		if isBytes {
			return event.BytesValue(bytes.Clone(b)), nil
		}
	case event.JSON:
		if isBytes {
			return jsonValue(bytes.Clone(b)), nil
		}
	default:
		if isBytes {
			return event.Value{Kind: kind, S: string(b)}, nil
		}
		if s, ok := v.(string); ok {
			return event.Value{Kind: kind, S: s}, nil
		}
	}
	return event.Value{}, fmt.Errorf("unexpected value %T for a %v column", v, kind)
}
