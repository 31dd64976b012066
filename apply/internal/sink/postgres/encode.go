package postgres

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// errZeroDate marks a MySQL zero or invalid date ('0000-00-00',
// '2024-02-30'): no PostgreSQL date type can hold it, so the ZeroDates
// policy decides between NULL and a RowError.
var errZeroDate = errors.New("zero or invalid date: PostgreSQL date types cannot hold it")

// encode appends the form of v that PostgreSQL parses into column c
// exactly: text, or raw bytes for bytea (sent in binary format). src is
// the source column, whose type says how v was produced (FLOAT or DOUBLE,
// BIT width). An error means the column cannot hold the value exactly.
//
// A value whose source type is unknown (a genuine Maxwell or Debezium
// message: no sluice.types header, no Connect schema) is first read as
// column c needs it (sink.ConvertUntyped: base64 into bytea, Debezium's
// epoch integers into date and time columns, its unscaled base64 decimals
// into numeric, a JSON array of strings into text as SET members).
func encode(dst []byte, c *column, src *event.Column, v *event.Value) ([]byte, error) {
	if sink.Untyped(src) {
		cv, err := sink.ConvertUntyped(*v, c.untypedTarget())
		if err != nil {
			return dst, err
		}
		v = &cv
	}
	switch c.fam {
	case famText:
		start := len(dst)
		dst, err := appendText(dst, src, v)
		if err == nil && c.maxChars > 0 {
			err = checkLength(dst[start:], c)
		}
		return dst, err
	case famEnum, famOther:
		return appendText(dst, src, v)
	case famBytea:
		switch v.Kind {
		case event.Bytes, event.JSON:
			return append(dst, v.B...), nil
		case event.String:
			return append(dst, v.S...), nil
		}
	case famJSON:
		return encodeJSON(dst, src, v)
	case famBool:
		return encodeBool(dst, v)
	case famInt2, famInt4, famInt8:
		return encodeInt(dst, c, v)
	case famNumeric:
		return encodeNumeric(dst, c, src, v)
	case famFloat4, famFloat8:
		return encodeFloat(dst, c, v)
	case famDate, famTimestamp, famTimestamptz:
		return encodeDateTime(dst, c, v)
	case famTime, famTimetz, famInterval:
		return encodeTime(dst, c, v)
	case famBit, famVarbit:
		return encodeBit(dst, c, src, v)
	case famTextArray:
		if v.Kind == event.Set {
			return appendArray(dst, v.Set)
		}
	}
	if v.Kind == event.String {
		// A string from a source without a matching type (a Mongo field,
		// a VARCHAR holding numbers): PostgreSQL's input function for the
		// column's type is the strictest judge.
		return appendText(dst, src, v)
	}
	return dst, fmt.Errorf("a %s value (source type %s) cannot go into %s", v.Kind, src.Type, c.typ)
}

// untypedTarget classifies c for sink.ConvertUntyped. PostgreSQL has no
// SET type: text columns (and text[]) are where SET members go, as the
// sink writes a typed SET.
func (c *column) untypedTarget() sink.Target {
	t := sink.Target{Scale: -1}
	switch c.fam {
	case famBytea:
		t.Kind = sink.TargetBinary
	case famJSON:
		t.Kind = sink.TargetJSON
	case famText, famTextArray:
		t.Kind = sink.TargetSet
	case famNumeric:
		t.Kind = sink.TargetDecimal
		if _, scale, ok := c.numericPrecScale(); ok {
			t.Scale = scale
		}
	case famDate:
		t.Kind = sink.TargetDate
	case famTimestamp:
		t.Kind, t.Frac = sink.TargetDateTime, c.fracDigits()
	case famTimestamptz:
		t.Kind, t.Frac = sink.TargetTimestamp, c.fracDigits()
	case famTime, famTimetz, famInterval:
		t.Kind, t.Frac = sink.TargetTime, c.fracDigits()
	}
	return t
}

// appendText appends the text form of any value, checked to be text that
// PostgreSQL can store: valid UTF-8 without NUL bytes.
func appendText(dst []byte, src *event.Column, v *event.Value) ([]byte, error) {
	start := len(dst)
	switch v.Kind {
	case event.Int, event.Year:
		return strconv.AppendInt(dst, v.I, 10), nil
	case event.Uint, event.Bit:
		return strconv.AppendUint(dst, v.U, 10), nil
	case event.Float:
		return appendFloatText(dst, src, v), nil
	case event.Set:
		for i, m := range v.Set {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, m...)
		}
	case event.Bytes, event.JSON:
		dst = append(dst, v.B...)
	default:
		dst = append(dst, v.S...)
	}
	if err := checkText(dst[start:]); err != nil {
		return dst, err
	}
	return dst, nil
}

func checkText(b []byte) error {
	for i, c := range b {
		if c == 0 {
			return fmt.Errorf("contains a NUL byte at %d, which PostgreSQL text cannot hold (use bytea)", i)
		}
		if c >= utf8.RuneSelf {
			if !utf8.Valid(b[i:]) {
				return errors.New("is not valid UTF-8, which PostgreSQL text cannot hold (use bytea)")
			}
			return nil
		}
	}
	return nil
}

// checkLength refuses text longer than varchar(n) or char(n), as
// PostgreSQL would, but naming the column.
func checkLength(b []byte, c *column) error {
	if c.padded {
		b = bytes.TrimRight(b, " ")
	}
	if n := utf8.RuneCount(b); n > c.maxChars {
		return fmt.Errorf("has %d characters; %s holds %d", n, c.typ, c.maxChars)
	}
	return nil
}

// appendFloatText is the source's shortest text of a float: what the
// source shows for the value, FLOAT at float32 width.
func appendFloatText(dst []byte, src *event.Column, v *event.Value) []byte {
	if v.S != "" {
		return append(dst, v.S...)
	}
	return appendFloat(dst, v.F, floatBits(src))
}

func floatBits(src *event.Column) int {
	if t := strings.TrimSpace(src.Type); strings.HasPrefix(t, "float") {
		return 32
	}
	return 64
}

// appendFloat writes f as PostgreSQL's float input reads it back to the
// same value.
func appendFloat(dst []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bitSize)
}

func encodeJSON(dst []byte, src *event.Column, v *event.Value) ([]byte, error) {
	switch v.Kind {
	case event.JSON, event.String, event.Int, event.Uint, event.Year, event.Decimal, event.Float:
		return appendText(dst, src, v)
	case event.Set:
		b, err := json.Marshal(v.Set)
		return append(dst, b...), err
	}
	return dst, fmt.Errorf("a %s value (source type %s) cannot go into a JSON column", v.Kind, src.Type)
}

func encodeBool(dst []byte, v *event.Value) ([]byte, error) {
	neg, abs, ok := integer(v)
	switch {
	case !ok && v.Kind == event.String:
		return append(dst, v.S...), nil
	case !ok:
		return dst, fmt.Errorf("a %s value cannot go into a boolean column", v.Kind)
	case !neg && abs == 0:
		return append(dst, 'f'), nil
	case !neg && abs == 1:
		return append(dst, 't'), nil
	}
	return dst, errors.New("a boolean column holds only 0 and 1")
}

// integer returns an integer-valued v as sign and magnitude, which covers
// both int64 and uint64 without overflow.
func integer(v *event.Value) (neg bool, abs uint64, ok bool) {
	switch v.Kind {
	case event.Int, event.Year:
		if v.I < 0 {
			return true, uint64(-(v.I + 1)) + 1, true
		}
		return false, uint64(v.I), true
	case event.Uint, event.Bit:
		return false, v.U, true
	}
	return false, 0, false
}

func encodeInt(dst []byte, c *column, v *event.Value) ([]byte, error) {
	neg, abs, ok := integer(v)
	if !ok && v.Kind == event.Decimal {
		var err error
		if neg, abs, err = decimalInteger(v.S); err != nil {
			return dst, fmt.Errorf("%w for %s", err, c.typ)
		}
		ok = true
	}
	if !ok {
		if v.Kind == event.String {
			return append(dst, v.S...), nil
		}
		return dst, fmt.Errorf("a %s value cannot go into %s", v.Kind, c.typ)
	}
	var max uint64 = math.MaxInt64
	switch c.fam {
	case famInt2:
		max = math.MaxInt16
	case famInt4:
		max = math.MaxInt32
	}
	if abs > max && !(neg && abs == max+1) {
		return dst, fmt.Errorf("out of range for %s", c.typ)
	}
	if neg {
		dst = append(dst, '-')
	}
	return strconv.AppendUint(dst, abs, 10), nil
}

// decimalInteger reads an integral decimal ("12", "-12.000") as sign and
// magnitude.
func decimalInteger(s string) (neg bool, abs uint64, err error) {
	r, err := decimalRat(s)
	switch {
	case err != nil:
		return false, 0, err
	case !r.IsInt():
		return false, 0, errors.New("has a fraction, which would be rejected or rounded")
	}
	n := new(big.Int).Abs(r.Num())
	if !n.IsUint64() {
		return false, 0, errors.New("out of range")
	}
	return r.Sign() < 0, n.Uint64(), nil
}

// decimalRat is a decimal literal as an exact rational; big.Rat alone
// would also take fractions and hexadecimal.
func decimalRat(s string) (*big.Rat, error) {
	if _, ok := parseDecimal([]byte(s)); ok {
		if r, ok := new(big.Rat).SetString(s); ok {
			return r, nil
		}
	}
	return nil, errors.New("is not a decimal number")
}

func encodeNumeric(dst []byte, c *column, src *event.Column, v *event.Value) ([]byte, error) {
	start := len(dst)
	switch v.Kind {
	case event.Int, event.Year, event.Uint, event.Bit, event.Decimal, event.Float, event.String:
		dst, _ = appendText(dst, src, v)
	default:
		return dst, fmt.Errorf("a %s value cannot go into %s", v.Kind, c.typ)
	}
	prec, scale, constrained := c.numericPrecScale()
	if !constrained {
		return dst, nil
	}
	d, ok := parseDecimal(dst[start:])
	if !ok || d.zero {
		return dst, nil // NaN, Infinity, or not a number: numeric_in decides
	}
	if d.lsd < -scale {
		return dst, fmt.Errorf("has more fractional digits than %s keeps (PostgreSQL would round it)", c.typ)
	}
	if d.msd >= prec-scale {
		return dst, fmt.Errorf("has more integer digits than %s holds", c.typ)
	}
	return dst, nil
}

func encodeFloat(dst []byte, c *column, v *event.Value) ([]byte, error) {
	bitSize := 64
	if c.fam == famFloat4 {
		bitSize = 32
	}
	var f float64
	exact := true
	switch v.Kind {
	case event.Float:
		f = v.F
		exact = bitSize == 64 || math.IsNaN(f) || float64(float32(f)) == f
	case event.Int, event.Year, event.Uint, event.Bit:
		neg, abs, _ := integer(v)
		r := new(big.Rat).SetFrac(new(big.Int).SetUint64(abs), big.NewInt(1))
		if neg {
			r.Neg(r)
		}
		f, exact = ratFloat(r, bitSize)
	case event.Decimal:
		r, err := decimalRat(v.S)
		if err != nil {
			return dst, err
		}
		f, exact = ratFloat(r, bitSize)
	case event.String:
		return append(dst, v.S...), nil
	default:
		return dst, fmt.Errorf("a %s value cannot go into %s", v.Kind, c.typ)
	}
	if !exact {
		return dst, fmt.Errorf("is not exactly representable in %s", c.typ)
	}
	return appendFloat(dst, f, bitSize), nil
}

func ratFloat(r *big.Rat, bitSize int) (float64, bool) {
	if bitSize == 32 {
		f, exact := r.Float32()
		return float64(f), exact
	}
	return r.Float64()
}

// encodeBit writes a bit string as wide as the source BIT(m) column, so a
// varbit column keeps the width and bit(n) gets exactly n bits.
func encodeBit(dst []byte, c *column, src *event.Column, v *event.Value) ([]byte, error) {
	neg, u, ok := integer(v)
	if !ok || neg {
		if v.Kind == event.String {
			return append(dst, v.S...), nil
		}
		return dst, fmt.Errorf("a %s value cannot go into %s", v.Kind, c.typ)
	}
	width := bitWidth(src, u)
	if c.fam == famBit || c.typmod > 0 && width > int(c.typmod) {
		width = int(c.typmod)
	}
	if width < 1 || bits.Len64(u) > width {
		return dst, fmt.Errorf("needs %d bits; %s holds %d", bits.Len64(u), c.typ, width)
	}
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, '0'+byte(u>>uint(i)&1))
	}
	return dst, nil
}

// bitWidth is m of a source BIT(m) column, else the value's own width.
func bitWidth(src *event.Column, u uint64) int {
	if t, ok := strings.CutPrefix(strings.TrimSpace(src.Type), "bit("); ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(t, ")")); err == nil {
			return n
		}
	}
	return max(bits.Len64(u), 1)
}

// appendArray writes a text[] literal, every element quoted, so commas,
// braces and the word NULL stay data.
func appendArray(dst []byte, elems []string) ([]byte, error) {
	dst = append(dst, '{')
	for i, e := range elems {
		if err := checkText([]byte(e)); err != nil {
			return dst, err
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		for j := 0; j < len(e); j++ {
			if e[j] == '"' || e[j] == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, e[j])
		}
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}

// decimal is where a decimal literal's nonzero digits lie, for range
// and scale checks that must not round: msd and lsd are the powers of ten
// of its most and least significant nonzero digits (none when zero).
type decimal struct {
	neg, zero bool
	msd, lsd  int
}

// parseDecimal reads [-+]digits[.digits][e[-+]digits] without
// allocating; ok is false for anything else (NaN, Infinity, garbage),
// which the caller leaves to PostgreSQL.
func parseDecimal(s []byte) (d decimal, ok bool) {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		d.neg, s = s[0] == '-', s[1:]
	}
	exp := 0
	if k := bytes.IndexAny(s, "eE"); k >= 0 {
		e, err := strconv.Atoi(string(s[k+1:]))
		if err != nil || e > 2000 || e < -2000 {
			return d, false
		}
		s, exp = s[:k], e
	}
	point := bytes.IndexByte(s, '.')
	whole := len(s)
	if point >= 0 {
		whole = point
	}
	d.zero = true
	digits := 0
	for k, ch := range s {
		if k == point {
			continue
		}
		if ch < '0' || ch > '9' {
			return d, false
		}
		digits++
		if ch == '0' {
			continue
		}
		pow := whole - 1 - k + exp
		if k > point && point >= 0 {
			pow = point - k + exp
		}
		if d.zero {
			d.msd, d.zero = pow, false
		}
		d.lsd = pow
	}
	return d, digits > 0
}

// valueText is v as a RowError shows it: binary as hex, long values cut.
func valueText(v *event.Value) string {
	const limit = 200
	var s string
	switch v.Kind {
	case event.Absent:
		return "(absent)"
	case event.Null:
		return "NULL"
	case event.Bytes:
		b := v.B
		if len(b) > limit/2 {
			b = b[:limit/2]
		}
		s = "0x" + hex.EncodeToString(b)
	default:
		b, _ := appendText(nil, &event.Column{}, v)
		s = string(b)
	}
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
