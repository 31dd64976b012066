package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// class is how a column's values are compared: every value of both sides
// is turned into one canonical text of its class, and the texts are
// compared (hashed). The class comes from the source column's type, refined
// by the target's (a TINYINT paired with a PostgreSQL boolean is Bool).
type class int

const (
	clsString   class = iota // text as stored
	clsChar                  // CHAR: trailing spaces do not count
	clsInt                   // integers of any width and sign, YEAR: decimal digits
	clsBool                  // TINYINT(1) vs boolean: "0" or "1"
	clsDecimal               // DECIMAL/numeric: no trailing fraction zeros
	clsFloat32               // FLOAT: shortest text that round-trips a float32
	clsFloat64               // DOUBLE: shortest text that round-trips a float64
	clsBit                   // BIT(n): the unsigned integer, decimal
	clsDate                  // DATE: YYYY-MM-DD (zero dates per policy)
	clsDateTime              // DATETIME/TIMESTAMP: UTC microseconds since the epoch
	clsTime                  // TIME: signed microseconds
	clsBytes                 // BINARY/VARBINARY/BLOB: lowercase hex
	clsJSON                  // JSON: parsed, keys sorted, numbers normalised
	clsSet                   // SET: members sorted, comma-separated
)

var classNames = [...]string{"string", "char", "int", "bool", "decimal", "float", "double", "bit", "date", "datetime", "time", "bytes", "json", "set"}

func (c class) String() string { return classNames[c] }

// mysqlClass is the class of a MySQL/MariaDB column from information_schema
// DATA_TYPE and COLUMN_TYPE. isJSON marks MariaDB's JSON (a LONGTEXT with a
// json_valid check).
func mysqlClass(dataType, columnType string, isJSON bool) class {
	if isJSON {
		return clsJSON
	}
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		return clsInt
	case "decimal", "numeric":
		return clsDecimal
	case "float":
		return clsFloat32
	case "double", "real":
		return clsFloat64
	case "bit":
		return clsBit
	case "date":
		return clsDate
	case "datetime", "timestamp":
		return clsDateTime
	case "time":
		return clsTime
	case "char":
		return clsChar
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return clsBytes
	case "json":
		return clsJSON
	case "set":
		return clsSet
	}
	return clsString
}

// refine adjusts a source class to the target column's type (PostgreSQL
// type name as pg_type.typname, or a MySQL DATA_TYPE).
func refine(c class, targetType string) class {
	t := strings.ToLower(targetType)
	switch {
	case t == "bool" || t == "boolean":
		if c == clsInt || c == clsBit {
			return clsBool
		}
	case t == "json" || t == "jsonb":
		if c == clsString {
			return clsJSON
		}
	case t == "bpchar" || t == "char":
		if c == clsString {
			return clsChar
		}
	}
	return c
}

// canonical turns one value as a side read it into the canonical text of
// class c. engine is "mysql" or "postgres" (the expressions each side
// selects are in sqlside.go); ownType is that side's type of the column
// (pg_type.typname for PostgreSQL). zeroNull says that MySQL zero dates
// count as NULL (the target stores them as NULL). A nil raw is NULL.
func canonical(c class, engine, ownType string, raw []byte, zeroNull bool) (string, bool, error) {
	if raw == nil {
		return "", true, nil
	}
	s := string(raw)
	pg := engine == "postgres"
	switch c {
	case clsString:
		return s, false, nil
	case clsChar:
		return strings.TrimRight(s, " "), false, nil
	case clsInt, clsDecimal:
		if pg && ownType == "bool" {
			return boolText(s), false, nil
		}
		return decimalText(s), false, nil
	case clsBool:
		if pg && (ownType == "bool" || ownType == "bit" || ownType == "varbit") {
			return boolText(s), false, nil
		}
		if decimalText(s) == "0" {
			return "0", false, nil
		}
		return "1", false, nil
	case clsFloat32, clsFloat64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "", false, fmt.Errorf("float %q: %w", s, err)
		}
		if c == clsFloat32 {
			return strconv.FormatFloat(float64(float32(f)), 'g', -1, 32), false, nil
		}
		return strconv.FormatFloat(f, 'g', -1, 64), false, nil
	case clsBit:
		if pg {
			switch ownType {
			case "bit", "varbit":
				u, err := strconv.ParseUint(s, 2, 64)
				if err != nil {
					return "", false, fmt.Errorf("bit string %q: %w", s, err)
				}
				return strconv.FormatUint(u, 10), false, nil
			case "bool":
				return boolText(s), false, nil
			case "bytea":
				b, err := hex.DecodeString(s)
				if err != nil {
					return "", false, err
				}
				return bitText(b), false, nil
			}
			return decimalText(s), false, nil
		}
		return decimalText(s), false, nil // selected as c+0
	case clsDate:
		if zeroNull && zeroDate(s) {
			return "", true, nil
		}
		return s, false, nil
	case clsDateTime:
		if zeroNull && zeroDate(s) {
			return "", true, nil
		}
		if zeroDate(s) {
			return s, false, nil
		}
		t, err := parseDateTime(s)
		if err != nil {
			return "", false, err
		}
		return strconv.FormatInt(t.UnixMicro(), 10), false, nil
	case clsTime:
		if pg { // selected as microseconds already
			return decimalText(s), false, nil
		}
		us, err := parseTime(s)
		if err != nil {
			return "", false, err
		}
		return strconv.FormatInt(us, 10), false, nil
	case clsBytes:
		if pg && ownType == "bytea" { // selected as encode(c, 'hex')
			return strings.ToLower(s), false, nil
		}
		return hex.EncodeToString(raw), false, nil
	case clsJSON:
		return canonicalJSON(raw), false, nil
	case clsSet:
		s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		if s == "" {
			return "", false, nil
		}
		parts := strings.Split(s, ",")
		slices.Sort(parts)
		return strings.Join(parts, ","), false, nil
	}
	return s, false, nil
}

func boolText(s string) string {
	switch strings.ToLower(s) {
	case "t", "true", "1", "on", "yes", "y":
		return "1"
	case "f", "false", "0", "off", "no", "n", "":
		return "0"
	}
	if decimalText(s) == "0" {
		return "0"
	}
	return "1"
}

// bitText is big-endian bytes as a decimal integer.
func bitText(raw []byte) string {
	var u uint64
	for _, b := range raw {
		u = u<<8 | uint64(b)
	}
	return strconv.FormatUint(u, 10)
}

// decimalText normalises a decimal number's text: no leading "+", no
// leading integer zeros, no trailing fraction zeros, no "-0". Anything
// that is not a plain decimal (NaN, exponents) is returned unchanged.
func decimalText(s string) string {
	neg := false
	t := s
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg, t = t[0] == '-', t[1:]
	}
	ip, fp, _ := strings.Cut(t, ".")
	if (ip == "" && fp == "") || !event.IsDigits(ip+fp+"0") {
		return s
	}
	ip = strings.TrimLeft(ip, "0")
	fp = strings.TrimRight(fp, "0")
	if ip == "" {
		ip = "0"
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// zeroDate reports a MySQL date or datetime with a zero year, month or day
// part ("0000-00-00", "2024-00-10 ..."), which PostgreSQL cannot hold.
func zeroDate(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	return s[:4] == "0000" || s[5:7] == "00" || s[8:10] == "00"
}

var dateTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999-07:00:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02",
}

// parseDateTime reads MySQL DATETIME/TIMESTAMP text (read with time_zone
// +00:00, so both are UTC) and PostgreSQL timestamp/timestamptz text
// (read with TimeZone UTC); a value without a zone is UTC.
func parseDateTime(s string) (time.Time, error) {
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("datetime %q: not a recognised format", s)
}

// parseTime reads MySQL TIME text ([-]HHH:MM:SS[.ffffff]) as microseconds.
func parseTime(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	t := strings.TrimPrefix(s, "-")
	hms, frac, _ := strings.Cut(t, ".")
	parts := strings.Split(hms, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("time %q: want [-]H:MM:SS[.ffffff]", s)
	}
	var n [3]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("time %q: %w", s, err)
		}
		n[i] = v
	}
	us := ((n[0]*60+n[1])*60 + n[2]) * 1e6
	if frac != "" {
		frac = (frac + "000000")[:6]
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("time %q: %w", s, err)
		}
		us += f
	}
	if neg {
		us = -us
	}
	return us, nil
}

// canonicalJSON is JSON text with object keys sorted, insignificant space
// removed and numbers in one form (so MariaDB's stored text and
// PostgreSQL's jsonb compare by meaning). Invalid JSON is returned as it
// is, prefixed so it never equals valid JSON.
func canonicalJSON(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return "invalid:" + string(raw)
	}
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(jsonNumber(string(x)))
	default:
		vb, _ := json.Marshal(x)
		b.Write(vb)
	}
}

// jsonNumber writes a JSON number as digits and a power of ten with no
// leading or trailing zeros in the digits: 2.50, 2.5 and 25e-1 are all
// "25e-1"; 100 and 1e2 are "1e2"; 0 and -0.0 are "0".
func jsonNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	t := strings.TrimPrefix(s, "-")
	mant, expS, hasExp := strings.Cut(strings.ToLower(t), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expS)
		if err != nil {
			return s
		}
		exp = e
	}
	ip, fp, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(ip+fp, "0")
	exp -= len(fp)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	if trimmed == "" {
		return "0"
	}
	out := trimmed
	if exp != 0 {
		out += "e" + strconv.Itoa(exp)
	}
	if neg {
		out = "-" + out
	}
	return out
}
