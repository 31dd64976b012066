package binlog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// binaryCollation is the id of the "binary" collation: CHAR/VARCHAR/BLOB
// columns with it are BINARY/VARBINARY/BLOB, whose values are bytes.
const binaryCollation = 63

// tableName identifies a table; a struct key so per-row lookups do not
// build strings.
type tableName struct{ db, table string }

// table is one table map decoded into event columns: the table as it was
// when the rows that follow it were written (DESIGN §6).
type table struct {
	tableName
	skip bool // not captured: rows are ignored
	// cols describes every column of the table map; conv its decoding.
	cols []event.Column
	conv []colConv
	// keep lists the published columns (indexes into cols), columns the
	// published column list, key the key as indexes into columns.
	keep    []int
	columns []event.Column
	key     []int
}

// colConv is what converting one column's values needs beyond its Kind.
type colConv struct {
	fsp       int      // fractional digits of DATETIME/TIMESTAMP/TIME
	binaryLen int      // n of BINARY(n): the binlog drops trailing 0x00
	labels    []string // ENUM/SET labels in definition order
}

// skipped is the table of every table map the filter excludes.
var skipped = &table{skip: true}

// columnsOf decodes the columns of a table map. It needs the optional
// metadata of binlog_row_metadata=FULL: without names the rows cannot be
// labelled, and the current catalog must not stand in for it (rows
// written before a DDL would get the wrong names).
func columnsOf(tm *replication.TableMapEvent, maxLen map[uint64]int, jsonCols map[string]bool) ([]event.Column, []colConv, error) {
	db, name := string(tm.Schema), string(tm.Table)
	names := tm.ColumnNameString()
	if len(names) != int(tm.ColumnCount) {
		return nil, nil, fatalf("the table map of %s.%s has no column names: the server must log full row metadata (SET GLOBAL binlog_row_metadata=FULL, and in my.cnf; MySQL 8.0.1+ / MariaDB 10.5+). Tracking schemas for servers with MINIMAL metadata is not implemented", db, name)
	}
	unsigned := tm.UnsignedMap()
	collations := tm.CollationMap()
	enums, sets := tm.EnumStrValueMap(), tm.SetStrValueMap()
	n := int(tm.ColumnCount)
	cols := make([]event.Column, n)
	conv := make([]colConv, n)
	for i := 0; i < n; i++ {
		coll, hasColl := collations[i]
		if tm.IsCharacterColumn(i) && !hasColl && !tm.IsGeometryColumn(i) {
			return nil, nil, fatalf("the table map of %s.%s has no charset for column %s: the server must log full row metadata (binlog_row_metadata=FULL)", db, name, names[i])
		}
		c := typeInfo{meta: tm.ColumnMeta[i], unsigned: unsigned[i], binary: coll == binaryCollation, bytesPerChar: maxLen[coll]}
		switch {
		case tm.IsEnumColumn(i):
			c.enum = enums[i]
		case tm.IsSetColumn(i):
			c.set = sets[i]
		}
		if (tm.IsEnumColumn(i) && c.enum == nil) || (tm.IsSetColumn(i) && c.set == nil) {
			return nil, nil, fatalf("the table map of %s.%s has no labels for ENUM/SET column %s: the server must log full row metadata (binlog_row_metadata=FULL)", db, name, names[i])
		}
		typ, cv, err := columnType(tm.ColumnType[i], c)
		if err != nil {
			return nil, nil, fatalf("%s.%s.%s: %w", db, name, names[i], err)
		}
		if jsonCols[names[i]] && typ == "longtext" {
			typ = "json" // MariaDB's JSON is LONGTEXT with a json_valid check
		}
		cols[i] = event.Column{Name: names[i], Type: typ, Kind: event.KindOf(typ)}
		conv[i] = cv
	}
	return cols, conv, nil
}

// typeInfo is the table-map metadata of one column.
type typeInfo struct {
	meta         uint16
	unsigned     bool
	binary       bool
	bytesPerChar int
	enum, set    []string
}

// columnType returns the column's type as SHOW COLUMNS prints it, minus
// integer display widths (the binlog does not carry them), and what
// decoding its values needs.
func columnType(t byte, c typeInfo) (string, colConv, error) {
	u := ""
	if c.unsigned {
		u = " unsigned"
	}
	switch {
	case c.enum != nil:
		return "enum(" + quoteList(c.enum) + ")", colConv{labels: c.enum}, nil
	case c.set != nil:
		return "set(" + quoteList(c.set) + ")", colConv{labels: c.set}, nil
	}
	switch t {
	case mysql.MYSQL_TYPE_TINY:
		return "tinyint" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_SHORT:
		return "smallint" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_INT24:
		return "mediumint" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_LONG:
		return "int" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_LONGLONG:
		return "bigint" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		return fmt.Sprintf("decimal(%d,%d)%s", c.meta>>8, c.meta&0xff, u), colConv{}, nil
	case mysql.MYSQL_TYPE_FLOAT:
		return "float" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_DOUBLE:
		return "double" + u, colConv{}, nil
	case mysql.MYSQL_TYPE_BIT:
		return "bit(" + strconv.Itoa(int(c.meta>>8)*8+int(c.meta&0xff)) + ")", colConv{}, nil
	case mysql.MYSQL_TYPE_YEAR:
		return "year", colConv{}, nil
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE:
		return "date", colConv{}, nil
	case mysql.MYSQL_TYPE_DATETIME:
		return "datetime", colConv{}, nil
	case mysql.MYSQL_TYPE_TIMESTAMP:
		return "timestamp", colConv{}, nil
	case mysql.MYSQL_TYPE_TIME:
		return "time", colConv{}, nil
	case mysql.MYSQL_TYPE_DATETIME2:
		return withFsp("datetime", c.meta), colConv{fsp: int(c.meta)}, nil
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		return withFsp("timestamp", c.meta), colConv{fsp: int(c.meta)}, nil
	case mysql.MYSQL_TYPE_TIME2:
		return withFsp("time", c.meta), colConv{fsp: int(c.meta)}, nil
	case mysql.MYSQL_TYPE_JSON:
		return "json", colConv{}, nil
	case mysql.MYSQL_TYPE_GEOMETRY:
		return "geometry", colConv{}, nil
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING:
		n := chars(int(c.meta), c.bytesPerChar)
		if c.binary {
			return "varbinary(" + strconv.Itoa(n) + ")", colConv{}, nil
		}
		return "varchar(" + strconv.Itoa(n) + ")", colConv{}, nil
	case mysql.MYSQL_TYPE_STRING:
		// meta packs the real type and the byte length, with two high
		// length bits folded into the type byte for long CHARs.
		length := int(c.meta & 0xff)
		if b0 := c.meta >> 8; b0 != 0 && b0&0x30 != 0x30 {
			length |= int((b0&0x30)^0x30) << 4
		}
		if c.binary {
			return "binary(" + strconv.Itoa(length) + ")", colConv{binaryLen: length}, nil
		}
		return "char(" + strconv.Itoa(chars(length, c.bytesPerChar)) + ")", colConv{}, nil
	case mysql.MYSQL_TYPE_BLOB:
		size := [...]string{1: "tiny", 2: "", 3: "medium", 4: "long"}
		if c.meta < 1 || c.meta > 4 {
			return "", colConv{}, fmt.Errorf("blob length size %d", c.meta)
		}
		if c.binary {
			return size[c.meta] + "blob", colConv{}, nil
		}
		return size[c.meta] + "text", colConv{}, nil
	}
	return "", colConv{}, fmt.Errorf("column type %d is not supported by the binlog reader", t)
}

// chars turns a byte length into the declared character count.
func chars(bytes, perChar int) int {
	if perChar <= 0 {
		return bytes
	}
	return bytes / perChar
}

func withFsp(base string, fsp uint16) string {
	if fsp == 0 {
		return base
	}
	return base + "(" + strconv.Itoa(int(fsp)) + ")"
}

// quoteList prints ENUM/SET labels as SHOW COLUMNS does.
func quoteList(vals []string) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(v, "'", "''"))
		b.WriteByte('\'')
	}
	return b.String()
}

// publish decides the published columns and the key. key indexes cols;
// key columns are kept even when excluded, because a change without its
// key cannot be applied.
func (t *table) publish(key []int, exclude func(db, table, col string) bool) {
	isKey := make(map[int]bool, len(key))
	for _, k := range key {
		isKey[k] = true
	}
	t.keep = t.keep[:0]
	for i, c := range t.cols {
		if isKey[i] || exclude == nil || !exclude(t.db, t.table, c.Name) {
			t.keep = append(t.keep, i)
		}
	}
	at := make(map[int]int, len(t.keep))
	t.columns = make([]event.Column, len(t.keep))
	for j, i := range t.keep {
		t.columns[j] = t.cols[i]
		at[i] = j
	}
	t.key = make([]int, len(key))
	for j, k := range key {
		t.key[j] = at[k]
	}
}
