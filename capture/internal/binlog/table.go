package binlog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// table is what the reader knows of one table map: the columns as the
// binlog describes them at the time of the change, so rows written before
// a DDL keep the names and types they had (DESIGN §6).
type table struct {
	db, name string
	columns  []event.Column
	key      []int
	// per-column decoding facts
	fsp    []int
	enums  map[int][]string
	sets   map[int][]string
	binary []bool
	// raw is the table map's column count; keep lists the published
	// columns when some are excluded (nil: all).
	raw  []event.Column
	keep []int
	// binaryLen is n of BINARY(n) columns (0 for others).
	binaryLen []int
}

// binaryCollation is the collation id of the "binary" charset: columns
// with it hold bytes, not text.
const binaryCollation = 63

// newTable builds the column list of a table map event. It needs the
// optional metadata of binlog_row_metadata=FULL; without column names it
// refuses, because guessing names from the current catalog would mislabel
// rows written before a DDL.
func newTable(tm *replication.TableMapEvent, jsonCols map[string]bool) (*table, error) {
	t := &table{db: string(tm.Schema), name: string(tm.Table)}
	names := tm.ColumnNameString()
	if len(names) != int(tm.ColumnCount) {
		return nil, fmt.Errorf("table map of %s.%s has no column names: the server must run with binlog_row_metadata=FULL (SET GLOBAL binlog_row_metadata=FULL; MySQL 8.0.1+ / MariaDB 10.5+)", t.db, t.name)
	}
	unsigned := tm.UnsignedMap()
	collations := tm.CollationMap()
	t.enums, t.sets = tm.EnumStrValueMap(), tm.SetStrValueMap()
	n := int(tm.ColumnCount)
	t.columns = make([]event.Column, n)
	t.fsp = make([]int, n)
	t.binary = make([]bool, n)
	t.binaryLen = make([]int, n)
	for i := 0; i < n; i++ {
		coll, hasColl := collations[i]
		t.binary[i] = hasColl && coll == binaryCollation
		typ, fsp := columnType(tm, i, unsigned[i], t.binary[i], coll, t.enums[i], t.sets[i])
		if jsonCols[names[i]] && strings.HasSuffix(typ, "text") {
			typ = "json" // MariaDB's JSON is LONGTEXT with a json_valid check
		}
		t.fsp[i] = fsp
		if w, ok := strings.CutPrefix(typ, "binary("); ok {
			t.binaryLen[i], _ = strconv.Atoi(strings.TrimSuffix(w, ")"))
		}
		t.columns[i] = event.Column{Name: names[i], Type: typ, Kind: event.KindOf(typ)}
	}
	for _, k := range tm.PrimaryKey {
		t.key = append(t.key, int(k))
	}
	t.raw = t.columns
	return t, nil
}

// applyColumnFilter drops excluded columns from what is published. Key
// columns are always kept: a change without its key cannot be applied.
func (t *table) applyColumnFilter(f interface {
	Column(db, table, col string) bool
	HasColumnExcludes() bool
}) {
	if !f.HasColumnExcludes() {
		return
	}
	isKey := map[int]bool{}
	for _, k := range t.key {
		isKey[k] = true
	}
	var keep []int
	for i, c := range t.columns {
		if isKey[i] || f.Column(t.db, t.name, c.Name) {
			keep = append(keep, i)
		}
	}
	if len(keep) == len(t.columns) {
		return
	}
	cols := make([]event.Column, len(keep))
	remap := map[int]int{}
	for j, i := range keep {
		cols[j] = t.columns[i]
		remap[i] = j
	}
	key := make([]int, len(t.key))
	for j, k := range t.key {
		key[j] = remap[k]
	}
	t.columns, t.key, t.keep = cols, key, keep
}

// project keeps the published columns of a converted row.
func (t *table) project(row []event.Value) []event.Value {
	if row == nil {
		return nil
	}
	out := make([]event.Value, len(t.keep))
	for j, i := range t.keep {
		out[j] = row[i]
	}
	return out
}

// mbMaxLen is the bytes per character of a collation's charset, for
// turning byte lengths back into CHAR(n)/VARCHAR(n). Unknown collations
// count as utf8mb4, the server default.
func mbMaxLen(coll uint64) int {
	switch {
	case coll == binaryCollation:
		return 1
	case coll == 8 || coll == 47 || coll == 48 || coll == 31 || coll == 5 || coll == 15 || coll == 94:
		return 1 // latin1
	case coll == 33 || coll == 83 || (coll >= 192 && coll <= 215) || coll == 76:
		return 3 // utf8mb3
	}
	return 4
}

// columnType returns the MySQL column type text of column i, and its
// fractional-seconds precision for temporal types.
func columnType(tm *replication.TableMapEvent, i int, unsigned, binary bool, coll uint64, enum, set []string) (string, int) {
	meta := tm.ColumnMeta[i]
	u := ""
	if unsigned {
		u = " unsigned"
	}
	switch {
	case tm.IsEnumColumn(i):
		return "enum(" + quoteList(enum) + ")", 0
	case tm.IsSetColumn(i):
		return "set(" + quoteList(set) + ")", 0
	}
	switch tm.ColumnType[i] {
	case mysql.MYSQL_TYPE_TINY:
		return "tinyint" + u, 0
	case mysql.MYSQL_TYPE_SHORT:
		return "smallint" + u, 0
	case mysql.MYSQL_TYPE_INT24:
		return "mediumint" + u, 0
	case mysql.MYSQL_TYPE_LONG:
		return "int" + u, 0
	case mysql.MYSQL_TYPE_LONGLONG:
		return "bigint" + u, 0
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		return fmt.Sprintf("decimal(%d,%d)%s", meta>>8, meta&0xff, u), 0
	case mysql.MYSQL_TYPE_FLOAT:
		return "float" + u, 0
	case mysql.MYSQL_TYPE_DOUBLE:
		return "double" + u, 0
	case mysql.MYSQL_TYPE_BIT:
		return fmt.Sprintf("bit(%d)", (meta>>8)*8+(meta&0xff)), 0
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE:
		return "date", 0
	case mysql.MYSQL_TYPE_DATETIME:
		return "datetime", 0
	case mysql.MYSQL_TYPE_DATETIME2:
		return withFsp("datetime", int(meta)), int(meta)
	case mysql.MYSQL_TYPE_TIMESTAMP:
		return "timestamp", 0
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		return withFsp("timestamp", int(meta)), int(meta)
	case mysql.MYSQL_TYPE_TIME:
		return "time", 0
	case mysql.MYSQL_TYPE_TIME2:
		return withFsp("time", int(meta)), int(meta)
	case mysql.MYSQL_TYPE_YEAR:
		return "year", 0
	case mysql.MYSQL_TYPE_JSON:
		return "json", 0
	case mysql.MYSQL_TYPE_GEOMETRY:
		return "geometry", 0
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING:
		n := int(meta) / mbMaxLen(coll)
		if binary {
			return "varbinary(" + strconv.Itoa(n) + ")", 0
		}
		return "varchar(" + strconv.Itoa(n) + ")", 0
	case mysql.MYSQL_TYPE_STRING:
		// meta packs the real type and the byte length (with two high
		// length bits folded into the type byte for long CHARs).
		length := int(meta&0xff) | int((((meta>>8)&0x30)^0x30)<<4)
		n := length / mbMaxLen(coll)
		if binary {
			return "binary(" + strconv.Itoa(n) + ")", 0
		}
		return "char(" + strconv.Itoa(n) + ")", 0
	case mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB:
		sizes := map[uint16]string{1: "tiny", 2: "", 3: "medium", 4: "long"}
		if binary {
			return sizes[meta] + "blob", 0
		}
		return sizes[meta] + "text", 0
	}
	return fmt.Sprintf("unknown(type %d)", tm.ColumnType[i]), 0
}

func withFsp(base string, fsp int) string {
	if fsp == 0 {
		return base
	}
	return base + "(" + strconv.Itoa(fsp) + ")"
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ",")
}

// convertRow turns one go-mysql row image into event values, exactly.
func (t *table) convertRow(row []any) ([]event.Value, error) {
	if len(row) != len(t.raw) {
		return nil, fmt.Errorf("%s.%s: row has %d values for %d columns", t.db, t.name, len(row), len(t.raw))
	}
	out := make([]event.Value, len(row))
	for i, v := range row {
		val, err := t.convert(i, v)
		if err != nil {
			return nil, fmt.Errorf("%s.%s.%s (%s): %w", t.db, t.name, t.raw[i].Name, t.raw[i].Type, err)
		}
		out[i] = val
	}
	return out, nil
}

func (t *table) convert(i int, v any) (event.Value, error) {
	if v == nil {
		return event.NullValue(), nil
	}
	col := &t.raw[i]
	switch col.Kind {
	case event.Int:
		if n, ok := asInt(v); ok {
			return event.IntValue(n), nil
		}
	case event.Uint:
		if n, ok := asUint(v); ok {
			return event.UintValue(n), nil
		}
	case event.Float:
		switch f := v.(type) {
		case float32:
			return event.FloatValue(float64(f)), nil
		case float64:
			return event.FloatValue(f), nil
		}
	case event.Decimal:
		if s, ok := v.(string); ok {
			return event.DecimalValue(s), nil
		}
	case event.Date:
		if s, ok := v.(string); ok {
			return event.DateValue(s), nil
		}
	case event.DateTime, event.Timestamp, event.Time:
		if s, ok := v.(string); ok {
			return event.Value{Kind: col.Kind, S: padFraction(s, t.fsp[i])}, nil
		}
	case event.Year:
		if n, ok := asInt(v); ok {
			return event.YearValue(n), nil
		}
	case event.Bit:
		if n, ok := asInt(v); ok {
			return event.BitValue(uint64(n)), nil
		}
	case event.Enum:
		if n, ok := asInt(v); ok {
			labels := t.enums[i]
			if n == 0 {
				return event.EnumValue(""), nil // the empty "error" value
			}
			if n < 1 || int(n) > len(labels) {
				return event.Value{}, fmt.Errorf("enum index %d out of %d labels", n, len(labels))
			}
			return event.EnumValue(labels[n-1]), nil
		}
	case event.Set:
		if n, ok := asInt(v); ok {
			labels := t.sets[i]
			members := []string{}
			for b := 0; b < len(labels) && b < 64; b++ {
				if uint64(n)&(1<<b) != 0 {
					members = append(members, labels[b])
				}
			}
			return event.SetValue(members), nil
		}
	case event.String:
		switch s := v.(type) {
		case string:
			return event.StringValue(s), nil
		case []byte:
			return event.StringValue(string(s)), nil
		}
	case event.Bytes:
		var b []byte
		switch s := v.(type) {
		case string:
			b = []byte(s)
		case []byte:
			b = append([]byte{}, s...)
		default:
			return event.Value{}, fmt.Errorf("unexpected decoded value %T for a bytes column", v)
		}
		// The binlog drops BINARY(n)'s trailing 0x00 padding; the column's
		// value, as SELECT returns it, has all n bytes.
		if n := t.binaryLen[i]; len(b) < n {
			b = append(b, make([]byte, n-len(b))...)
		}
		return event.BytesValue(b), nil
	case event.JSON:
		switch s := v.(type) {
		case string:
			return event.JSONValue([]byte(s)), nil
		case []byte:
			return event.JSONValue(append([]byte{}, s...)), nil
		}
	}
	return event.Value{}, fmt.Errorf("unexpected decoded value %T(%v) for a %v column", v, v, col.Kind)
}

// padFraction makes temporal text carry exactly fsp fractional digits:
// the server stores zero dates and some values without the fraction, but
// the column's text form always has it ("0000-00-00 00:00:00.000000").
func padFraction(s string, fsp int) string {
	if fsp == 0 {
		return s
	}
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 || strings.LastIndexByte(s, ':') > dot {
		return s + "." + strings.Repeat("0", fsp)
	}
	if have := len(s) - dot - 1; have < fsp {
		return s + strings.Repeat("0", fsp-have)
	}
	return s
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	}
	return 0, false
}

func asUint(v any) (uint64, bool) {
	switch n := v.(type) {
	case uint8:
		return uint64(n), true
	case uint16:
		return uint64(n), true
	case uint32:
		return uint64(n), true
	case uint64:
		return n, true
	case int64:
		return uint64(n), true
	}
	return 0, false
}
