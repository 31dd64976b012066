package event

import (
	"bytes"
	"slices"
	"strings"
)

// Kind is how a value is held. It follows the column type, not the JSON
// shape, so a codec knows that a string is base64 binary or a decimal.
type Kind uint8

// The kinds. Absent is the zero value on purpose: a row slot nobody filled
// is "unknown", never silently NULL.
const (
	Absent Kind = iota
	Null
	// Int holds signed integers (TINYINT..BIGINT) in I.
	Int
	// Uint holds unsigned integers in U (BIGINT UNSIGNED needs all 64 bits).
	Uint
	// Float holds FLOAT and DOUBLE in F. FLOAT values are widened from
	// float32 exactly; Text keeps the shortest text of the source value.
	Float
	// Decimal holds the exact digits in S ("-12.500"), never a float.
	Decimal
	// String holds text (CHAR, VARCHAR, TEXT) in S, UTF-8.
	String
	// Bytes holds binary strings and BLOBs in B.
	Bytes
	// Date holds "YYYY-MM-DD" in S, zero dates verbatim.
	Date
	// DateTime holds "YYYY-MM-DD HH:MM:SS[.ffffff]" in S.
	DateTime
	// Timestamp holds a UTC "YYYY-MM-DD HH:MM:SS[.ffffff]" in S.
	Timestamp
	// Time holds "[-]HH:MM:SS[.ffffff]" in S; hours may exceed 24.
	Time
	// Year holds the year in I.
	Year
	// Bit holds a BIT(n) value in U.
	Bit
	// Enum holds the label in S ("" is the empty/error value).
	Enum
	// Set holds the members in Set, in definition order.
	Set
	// JSON holds a JSON document as raw text in B. A value decoded without
	// its column type (a genuine Maxwell message, no sluice.types header)
	// is JSON for every array and object: Maxwell writes a SET's members
	// and a JSON column's array of strings alike, so the raw text is kept
	// and the writer decides by the target column (SET members for a SET
	// column, the document for a JSON one).
	JSON
)

var kindNames = [...]string{"absent", "null", "int", "uint", "float", "decimal", "string", "bytes", "date", "datetime", "timestamp", "time", "year", "bit", "enum", "set", "json"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Value is one column value. Only the field(s) named by Kind are meaningful.
// It is a plain struct (no interface boxing) so rows are built without
// allocating per value.
type Value struct {
	Kind Kind
	I    int64
	U    uint64
	F    float64
	// S holds text forms: decimal digits, strings, temporal text, enum label.
	// For Float it holds the source's shortest text when known ("" = format F).
	S   string
	B   []byte
	Set []string
}

// Constructors keep call sites short in capture and tests.

func NullValue() Value                { return Value{Kind: Null} }
func IntValue(v int64) Value          { return Value{Kind: Int, I: v} }
func UintValue(v uint64) Value        { return Value{Kind: Uint, U: v} }
func FloatValue(v float64) Value      { return Value{Kind: Float, F: v} }
func DecimalValue(s string) Value     { return Value{Kind: Decimal, S: s} }
func StringValue(s string) Value      { return Value{Kind: String, S: s} }
func BytesValue(b []byte) Value       { return Value{Kind: Bytes, B: b} }
func DateValue(s string) Value        { return Value{Kind: Date, S: s} }
func DateTimeValue(s string) Value    { return Value{Kind: DateTime, S: s} }
func TimestampValue(s string) Value   { return Value{Kind: Timestamp, S: s} }
func TimeValue(s string) Value        { return Value{Kind: Time, S: s} }
func YearValue(y int64) Value         { return Value{Kind: Year, I: y} }
func BitValue(v uint64) Value         { return Value{Kind: Bit, U: v} }
func EnumValue(s string) Value        { return Value{Kind: Enum, S: s} }
func SetValue(members []string) Value { return Value{Kind: Set, Set: members} }
func JSONValue(raw []byte) Value      { return Value{Kind: JSON, B: raw} }

// IsNull reports whether v is SQL NULL.
func (v Value) IsNull() bool { return v.Kind == Null }

// Equal reports whether two values are the same kind and content. Float
// compares bit-exact values so NaN equals NaN; JSON compares raw text.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case Absent, Null:
		return true
	case Int, Year:
		return v.I == w.I
	case Uint, Bit:
		return v.U == w.U
	case Float:
		return v.F == w.F || (v.F != v.F && w.F != w.F)
	case Bytes, JSON:
		return bytes.Equal(v.B, w.B)
	case Set:
		return slices.Equal(v.Set, w.Set)
	default:
		return v.S == w.S
	}
}

// KindOf maps a MySQL column type (as information_schema.COLUMNS.COLUMN_TYPE
// prints it) to the Kind its values use. Unknown types map to String so that
// new server types degrade to text rather than disappear; callers that need
// to refuse them check Known.
func KindOf(columnType string) Kind {
	k, _ := kindOf(columnType)
	return k
}

// KnownType reports whether columnType is a MySQL/MariaDB column type
// Sluice knows. KindOf maps unknown types to String so capture never
// fails on a new type; apply refuses them (G6), since it cannot know how
// the value was written.
func KnownType(columnType string) bool {
	_, ok := kindOf(columnType)
	return ok
}

func kindOf(columnType string) (Kind, bool) {
	t := strings.ToLower(strings.TrimSpace(columnType))
	base := t
	if i := strings.IndexAny(base, "( "); i >= 0 {
		base = base[:i]
	}
	unsigned := strings.Contains(t, "unsigned")
	switch base {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		if unsigned {
			return Uint, true
		}
		return Int, true
	case "bool", "boolean":
		return Int, true
	case "float", "double", "real":
		return Float, true
	case "decimal", "numeric", "dec", "fixed":
		return Decimal, true
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return String, true
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point", "linestring", "polygon":
		return Bytes, true
	case "date":
		return Date, true
	case "datetime":
		return DateTime, true
	case "timestamp":
		return Timestamp, true
	case "time":
		return Time, true
	case "year":
		return Year, true
	case "bit":
		return Bit, true
	case "enum":
		return Enum, true
	case "set":
		return Set, true
	case "json":
		return JSON, true
	}
	return String, false
}

// IsDecimalText reports whether s is a decimal as MySQL prints it,
// -?digits[.digits]: the form of Decimal values.
func IsDecimalText(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	return IsDigits(whole) && (!dot || IsDigits(frac))
}

// IsDigits reports whether s is one or more ASCII digits.
func IsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
