package debezium

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// temporalValue reads DATE, DATETIME, TIMESTAMP and TIME values: Sluice's
// text forms, checked for shape (not for calendar validity: zero dates and
// zero parts are MySQL values too), or Debezium's epoch numbers when the
// Connect schema says so.
func temporalValue(col *event.Column, w colWire, raw string) (event.Value, error) {
	k := col.Kind
	if isNumber(raw) {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return event.Value{}, fmt.Errorf("%s is not a 64-bit integer", raw)
		}
		var s string
		switch {
		case k == event.Date && w.w == wireDays:
			s, err = fromEpochDays(n)
		case k == event.DateTime && (w.w == wireMillis || w.w == wireMicros || w.w == wireNanos):
			s, err = fromEpoch(n, w.w, typeFsp(col.Type))
		case k == event.Time && (w.w == wireTimeMillis || w.w == wireTimeMicros || w.w == wireTimeNanos):
			s, err = fromTimeOfDay(n, w.w, typeFsp(col.Type))
		default:
			return event.Value{}, fmt.Errorf("want a string for a %s column, got a number", typeName(col))
		}
		return event.Value{Kind: k, S: s}, err
	}
	if raw[0] != '"' {
		return event.Value{}, fmt.Errorf("want a string for a %s column, got %s", typeName(col), shape(raw))
	}
	s, err := unquote(raw)
	if err != nil {
		return event.Value{}, err
	}
	bad := func(form string) (event.Value, error) {
		return event.Value{}, fmt.Errorf("%q is not %s", truncate(s), form)
	}
	switch k {
	case event.Date:
		if !isDate(s) {
			return bad("a date (YYYY-MM-DD)")
		}
		return event.DateValue(s), nil
	case event.DateTime:
		if !isDateTime(s) || len(s) > 10 && s[10] != 'T' {
			return bad("a datetime (YYYY-MM-DDTHH:MM:SS[.ffffff])")
		}
		return event.DateTimeValue(s[:10] + " " + s[11:]), nil
	case event.Timestamp:
		v, ok := utcTimestamp(s)
		if !ok {
			return bad("a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)")
		}
		return event.TimestampValue(v), nil
	}
	if !isTime(s) {
		return bad("a time ([-]HH:MM:SS[.ffffff])")
	}
	return event.TimeValue(s), nil
}

func digitsAt(s string, i, n int) bool { return i+n <= len(s) && event.IsDigits(s[i:i+n]) }

func isDate(s string) bool {
	return len(s) == 10 && digitsAt(s, 0, 4) && s[4] == '-' && digitsAt(s, 5, 2) && s[7] == '-' && digitsAt(s, 8, 2)
}

// fracLen returns the length of an optional ".f{1,6}" at s[i:], or -1.
func fracLen(s string, i int) int {
	if i >= len(s) || s[i] != '.' {
		return 0
	}
	n := 0
	for i+1+n < len(s) && s[i+1+n] >= '0' && s[i+1+n] <= '9' {
		n++
	}
	if n < 1 || n > 6 {
		return -1
	}
	return n + 1
}

// clockLen returns the length of "HH:MM:SS[.f]" at s[i:], or -1.
func clockLen(s string, i int) int {
	if !digitsAt(s, i, 2) || !digitsAt(s, i+3, 2) || !digitsAt(s, i+6, 2) || s[i+2] != ':' || s[i+5] != ':' {
		return -1
	}
	f := fracLen(s, i+8)
	if f < 0 {
		return -1
	}
	return 8 + f
}

// isDateTime accepts "YYYY-MM-DD?HH:MM:SS[.ffffff]" with any separator;
// callers check it.
func isDateTime(s string) bool {
	return len(s) > 10 && isDate(s[:10]) && clockLen(s, 11) == len(s)-11
}

// utcTimestamp turns an ISO-8601 timestamp with a zone into MySQL's UTC
// text. Sluice and Debezium write Z; other offsets are converted.
func utcTimestamp(s string) (string, bool) {
	if len(s) < 20 || !isDate(s[:10]) || s[10] != 'T' {
		return "", false
	}
	n := clockLen(s, 11)
	if n < 0 {
		return "", false
	}
	zone := s[11+n:]
	if zone == "Z" {
		return s[:10] + " " + s[11:11+n], true
	}
	if len(zone) != 6 || (zone[0] != '+' && zone[0] != '-') {
		return "", false
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999Z07:00", s)
	if err != nil {
		return "", false
	}
	out := t.UTC().Format("2006-01-02 15:04:05")
	if f := n - 8; f > 0 { // keep the fraction's digits as written
		out += s[19 : 19+f]
	}
	return out, true
}

// isTime accepts MySQL's TIME text: [-]H{2,3}:MM:SS[.ffffff].
func isTime(s string) bool {
	s = strings.TrimPrefix(s, "-")
	h := 0
	for h < len(s) && s[h] >= '0' && s[h] <= '9' {
		h++
	}
	if h < 2 || h > 3 {
		return false
	}
	// Reuse the clock check on the part after the hours, shifted so that
	// it starts with two digits.
	rest := s[h-2:]
	return clockLen(rest, 0) == len(rest)
}

// typeFsp reads the fractional-second precision from "datetime(3)".
func typeFsp(typ string) int {
	i := strings.IndexByte(typ, '(')
	if i < 0 || i+2 >= len(typ) || typ[i+2] != ')' || typ[i+1] < '0' || typ[i+1] > '6' {
		return 0
	}
	return int(typ[i+1] - '0')
}

// frac writes micros as ".ffffff" cut to fsp digits, or to 6 when fsp
// digits would drop a non-zero digit.
func frac(micros int64, fsp int) string {
	d := fsp
	if micros%pow10[6-d] != 0 {
		d = 6
	}
	if d == 0 {
		return ""
	}
	s := strconv.FormatInt(1_000_000+micros, 10) // "1ffffff"
	return "." + s[1:1+d]
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

const maxEpochDays = 2932896 // 9999-12-31

func fromEpochDays(n int64) (string, error) {
	if n < -719528 || n > maxEpochDays { // 0000-01-01 .. 9999-12-31
		return "", fmt.Errorf("%d days since 1970-01-01 is outside years 0..9999", n)
	}
	return time.Unix(n*86400, 0).UTC().Format("2006-01-02"), nil
}

// fromEpoch reads Debezium's Timestamp (ms), MicroTimestamp (µs) and
// NanoTimestamp (ns): a DATETIME as if it were UTC.
func fromEpoch(n int64, w wire, fsp int) (string, error) {
	var sec, micros int64
	switch w {
	case wireMillis:
		sec, micros = floorDiv(n, 1000), floorMod(n, 1000)*1000
	case wireMicros:
		sec, micros = floorDiv(n, 1_000_000), floorMod(n, 1_000_000)
	default:
		nanos := floorMod(n, 1_000_000_000)
		if nanos%1000 != 0 {
			return "", fmt.Errorf("%d ns is finer than a microsecond", n)
		}
		sec, micros = floorDiv(n, 1_000_000_000), nanos/1000
	}
	if sec < -62167219200 || sec > 253402300799 { // years 0..9999
		return "", fmt.Errorf("%d is outside years 0..9999", n)
	}
	return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04:05") + frac(micros, fsp), nil
}

// fromTimeOfDay reads Debezium's Time (ms), MicroTime (µs) and NanoTime
// (ns) as MySQL TIME text; MicroTime may be negative or over 24 hours.
func fromTimeOfDay(n int64, w wire, fsp int) (string, error) {
	us := n
	switch w {
	case wireTimeMillis:
		if n > 1<<50 || n < -(1<<50) {
			return "", fmt.Errorf("%d ms is out of range for a TIME", n)
		}
		us = n * 1000
	case wireTimeNanos:
		if n%1000 != 0 {
			return "", fmt.Errorf("%d ns is finer than a microsecond", n)
		}
		us = n / 1000
	}
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	h, m, s := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60
	if us < 0 || h > 838 { // us < 0: the negation of MinInt64 overflowed
		return "", fmt.Errorf("%d is beyond TIME's 838 hours", n)
	}
	return fmt.Sprintf("%s%02d:%02d:%02d%s", sign, h, m, s, frac(us%1_000_000, fsp)), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
