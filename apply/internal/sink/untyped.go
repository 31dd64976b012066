package sink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Values of unknown source type.
//
// A message written by genuine Maxwell or genuine Debezium without the
// Connect schema has no sluice.types header, so its decoder infers kinds
// from the JSON shape alone (the column's event.Column.Type is ""). A
// base64 BLOB then looks like a string, a Debezium date like an integer,
// a SET like a JSON array. Only the target column says what such a value
// is; ConvertUntyped applies that knowledge, for the SQL sinks, before
// their usual conversion. Values whose source type is known (Sluice's own
// topics, Debezium's Connect schema) never come here.
//
// What it assumes is each peer's default output:
//
//   - Maxwell writes binary strings and BLOBs as base64, and a SET as an
//     array of strings, just as it writes a JSON column's array.
//   - Debezium's MySQL connector with schemas.enable=false and its
//     defaults binary.handling.mode=bytes (base64 in JSON),
//     decimal.handling.mode=precise and
//     time.precision.mode=adaptive_time_microseconds writes DECIMAL as
//     base64 of the unscaled big-endian two's-complement integer (the
//     scale travels only in the Connect schema, so the target column's
//     scale is used), DATE as days since 1970-01-01, DATETIME(0-3) as
//     milliseconds and DATETIME(4-6) as microseconds since the epoch,
//     TIME as microseconds (a duration, may be negative), and TIMESTAMP
//     as an ISO-8601 string in UTC ("...Z").
//
// Hence the rules below rely on the target column having the source
// column's scale and fractional-second precision (a DATETIME(3) source
// into a DATETIME(6) target would read milliseconds as microseconds). A
// string that is a valid decimal literal is taken as one even into a
// DECIMAL column, so decimal.handling.mode=string works too; the rare
// base64 text made only of digits ("1234") is then misread, which is why
// decimal.handling.mode=string or the Connect schema is the safer choice.

// TargetKind is what a target column holds, as far as a value of unknown
// source type needs to know.
type TargetKind uint8

// The target kinds. TargetOther columns take the value as it is.
const (
	TargetOther TargetKind = iota
	// TargetBinary: BINARY, VARBINARY, *BLOB; bytea.
	TargetBinary
	// TargetJSON: JSON; json, jsonb.
	TargetJSON
	// TargetSet: a column that holds a SET's members: SET on MySQL; on
	// PostgreSQL, which has no SET, text columns and text[].
	TargetSet
	// TargetDecimal: DECIMAL(p,s); numeric(p,s).
	TargetDecimal
	// TargetDate: DATE.
	TargetDate
	// TargetDateTime: DATETIME(p); timestamp(p) without time zone.
	TargetDateTime
	// TargetTimestamp: TIMESTAMP(p) on MySQL; timestamptz(p).
	TargetTimestamp
	// TargetTime: TIME(p); time, timetz, interval.
	TargetTime
)

// Target describes a target column for ConvertUntyped.
type Target struct {
	Kind TargetKind
	// Scale is the DECIMAL scale (TargetDecimal); negative when the
	// column has none a MySQL DECIMAL could have had (unconstrained or
	// negative-scale numeric), which rules out Debezium's unscaled form.
	Scale int
	// Frac is the fractional-second precision p of a temporal column.
	Frac int
}

// Untyped reports whether src is a column whose type the message did not
// say (no sluice.types header, no Connect schema): its values need
// ConvertUntyped.
func Untyped(src *event.Column) bool { return src != nil && src.Type == "" }

// ConvertUntyped returns v, a value of a column of unknown source type, in
// the form target column t expects, per the rules in the comment above:
//
//	binary       string      → base64-decoded bytes
//	SET          JSON array  → the members, when all are strings
//	DECIMAL      string      → itself when a decimal literal, else the
//	                           base64 unscaled integer at the column's scale
//	DATE         integer     → days since the epoch
//	DATETIME(p)  integer     → milliseconds (p ≤ 3) or microseconds since
//	TIMESTAMP(p)               the epoch, in UTC
//	DATETIME     RFC 3339    → the same instant in UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]"
//	TIMESTAMP      string
//	TIME         integer     → microseconds, "[-]HH:MM:SS[.ffffff]"
//	DATE, TIME   MySQL text  → the temporal kind (Maxwell's values), so
//	DATETIME,                  the sink's date checks and zero-date
//	TIMESTAMP                  policy apply
//
// Anything else is returned unchanged, for the sink's usual conversion to
// accept or refuse. An error means the value cannot be what the column
// needs (invalid base64, say); it is never written as it came.
func ConvertUntyped(v event.Value, t Target) (event.Value, error) {
	switch t.Kind {
	case TargetBinary:
		if v.Kind == event.String {
			b, err := base64.StdEncoding.DecodeString(v.S)
			if err != nil {
				return v, fmt.Errorf("a binary column needs base64 (how Maxwell and Debezium write binary values), and this is not: %w", err)
			}
			return event.BytesValue(b), nil
		}
	case TargetSet:
		if v.Kind == event.JSON {
			if m, ok := stringArray(v.B); ok {
				return event.SetValue(m), nil
			}
		}
	case TargetDecimal:
		if v.Kind == event.String {
			return untypedDecimal(v.S, t.Scale)
		}
	case TargetDate:
		switch {
		case v.Kind == event.Int:
			return event.DateValue(epochDays(v.I)), nil
		case v.Kind == event.String && isDateText(v.S):
			return event.DateValue(v.S), nil
		}
	case TargetDateTime, TargetTimestamp:
		kind := event.DateTime
		if t.Kind == TargetTimestamp {
			kind = event.Timestamp
		}
		switch v.Kind {
		case event.Int:
			us := v.I
			if t.Frac <= 3 {
				if us > maxMillis || us < -maxMillis {
					return v, errors.New("is out of range for epoch milliseconds")
				}
				us *= 1000
			}
			return event.Value{Kind: kind, S: formatMicros(us)}, nil
		case event.String:
			if s, ok := utcText(v.S); ok {
				return event.Value{Kind: kind, S: s}, nil
			}
			if isDateText(v.S) && (len(v.S) == 10 || v.S[10] == ' ') {
				return event.Value{Kind: kind, S: v.S}, nil // Maxwell's text
			}
		}
	case TargetTime:
		switch {
		case v.Kind == event.Int:
			return event.TimeValue(durationText(v.I)), nil
		case v.Kind == event.String && isTimeText(v.S):
			return event.TimeValue(v.S), nil
		}
	}
	return v, nil
}

// maxMillis bounds epoch milliseconds so that microseconds fit int64.
const maxMillis = 1<<63/1000 - 1

// stringArray returns the members of a JSON array of strings.
func stringArray(raw []byte) ([]string, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, false
	}
	members := []string{}
	for dec.PeekKind() != ']' {
		tok, err := dec.ReadToken()
		if err != nil || tok.Kind() != '"' {
			return nil, false
		}
		members = append(members, tok.String())
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false
	}
	return members, true
}

// untypedDecimal reads a DECIMAL value without its type: a decimal literal
// as it is (decimal.handling.mode=string), else Debezium's precise form,
// base64 of the unscaled big-endian two's-complement integer.
func untypedDecimal(s string, scale int) (event.Value, error) {
	if event.IsDecimalText(s) {
		return event.DecimalValue(s), nil
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil || s == "" {
		return event.Value{}, errors.New("is neither a decimal number nor base64 of an unscaled integer (Debezium's decimal.handling.mode=precise)")
	}
	if scale < 0 {
		return event.Value{}, errors.New("is base64 of an unscaled integer (Debezium's decimal.handling.mode=precise) and the target column has no scale to apply; give it one (numeric(p,s)), or use decimal.handling.mode=string")
	}
	return debezium.DecimalFromBytes(s, scale)
}

// isDateText reports text that starts as MySQL prints a date,
// "YYYY-MM-DD" (zero dates included). Maxwell writes DATE, DATETIME and
// TIMESTAMP so; read as temporal kinds, they get the sinks' date checks
// and zero-date policy rather than passing as plain strings.
func isDateText(s string) bool {
	return len(s) >= 10 && s[4] == '-' && s[7] == '-' && event.IsDigits(s[:4]) && event.IsDigits(s[5:7]) && event.IsDigits(s[8:10])
}

// isTimeText reports MySQL TIME text, "[-]H+:MM:SS[.f+]".
func isTimeText(s string) bool {
	h, rest, ok := strings.Cut(strings.TrimPrefix(s, "-"), ":")
	if !ok || !event.IsDigits(h) || len(rest) < 5 || rest[2] != ':' || !event.IsDigits(rest[:2]) || !event.IsDigits(rest[3:5]) {
		return false
	}
	frac, dot := strings.CutPrefix(rest[5:], ".")
	return rest[5:] == "" || dot && event.IsDigits(frac)
}

// epochDays is the date days after 1970-01-01.
func epochDays(days int64) string {
	return time.Unix(0, 0).UTC().AddDate(0, 0, int(days)).Format(time.DateOnly)
}

// formatMicros is the UTC date and time us microseconds after the epoch,
// "YYYY-MM-DD HH:MM:SS" plus ".ffffff" when the fraction is not zero.
func formatMicros(us int64) string {
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	return dateTimeText(time.Unix(sec, frac*1000).UTC())
}

func dateTimeText(t time.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.Format(time.DateTime)
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// utcText converts an ISO-8601 date and time to UTC text: with a zone
// ("2000-01-01T00:00:00Z", "...+02:00", Debezium's ZonedTimestamp) the
// instant in UTC; without one ("2000-01-01T00:00:00") the same wall
// clock, the "T" made a space. ok is false for anything else, which is
// left for the target to parse.
func utcText(s string) (string, bool) {
	if len(s) < 19 || s[10] != 'T' {
		return "", false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Nanosecond()%1000 != 0 {
			return "", false // finer than a microsecond: let the target refuse it
		}
		return dateTimeText(t.UTC()), true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil && t.Nanosecond()%1000 == 0 {
		return dateTimeText(t), true
	}
	return "", false
}

// durationText is us microseconds as MySQL TIME text, "[-]HH:MM:SS" plus
// ".ffffff" when the fraction is not zero; hours may exceed 24.
func durationText(us int64) string {
	var b []byte
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = -u
	}
	h, rest := u/3_600_000_000, u%3_600_000_000
	m, rest := rest/60_000_000, rest%60_000_000
	s, frac := rest/1_000_000, rest%1_000_000
	if h < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendUint(b, h, 10)
	b = append(b, ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
	if frac != 0 {
		f := strconv.FormatUint(frac+1_000_000, 10)
		b = append(b, '.')
		b = append(b, f[1:]...)
	}
	return string(b)
}
