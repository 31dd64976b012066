package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// Temporal values stay text from source to target: MySQL's text is
// already what PostgreSQL's input functions read, so the only work is
// refusing what PostgreSQL would round or cannot hold.

// encodeDateTime handles date, timestamp and timestamptz columns. MySQL
// DATETIME carries no zone; it goes into timestamptz as UTC, the zone
// apply writes TIMESTAMP values in, so both read back the same.
func encodeDateTime(dst []byte, c *column, v *event.Value) ([]byte, error) {
	var s string
	switch v.Kind {
	case event.Date, event.DateTime, event.Timestamp:
		s = v.S
	case event.String:
		return append(dst, v.S...), nil
	default:
		return dst, fmt.Errorf("a %s value cannot go into %s", v.Kind, c.typ)
	}
	if len(s) < 10 || !validDate(s[:10]) {
		return dst, errZeroDate
	}
	clock := ""
	if len(s) > 10 {
		clock = strings.TrimLeft(s[10:], " T")
	}
	if c.fam == famDate {
		if strings.Trim(clock, "0:.") != "" {
			return dst, fmt.Errorf("has a time of day, which a %s column would drop", c.typ)
		}
		return append(dst, s[:10]...), nil
	}
	if n := fracLen(clock); n > c.fracDigits() {
		return dst, fmt.Errorf("has %d fractional second digits; %s keeps %d (PostgreSQL would round it)", n, c.typ, c.fracDigits())
	}
	dst = append(dst, s...)
	if c.fam == famTimestamptz {
		if clock == "" {
			dst = append(dst, " 00:00:00"...)
		}
		dst = append(dst, "+00"...)
	}
	return dst, nil
}

// validDate reports whether "YYYY-MM-DD" is a real calendar date (year 0
// does not exist in PostgreSQL either).
func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	y, e1 := strconv.Atoi(s[:4])
	m, e2 := strconv.Atoi(s[5:7])
	d, e3 := strconv.Atoi(s[8:])
	if e1 != nil || e2 != nil || e3 != nil || y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// fracLen is the number of significant fractional second digits of a
// clock "HH:MM:SS[.ffffff]".
func fracLen(clock string) int {
	i := strings.IndexByte(clock, '.')
	if i < 0 {
		return 0
	}
	return len(strings.TrimRight(clock[i+1:], "0"))
}

// encodeTime handles time, timetz and interval columns. A MySQL TIME is a
// duration from -838:59:59 to 838:59:59: an interval holds all of it, a
// time of day only 00:00:00 to 24:00:00.
func encodeTime(dst []byte, c *column, v *event.Value) ([]byte, error) {
	switch v.Kind {
	case event.Time:
	case event.String:
		return append(dst, v.S...), nil
	default:
		return dst, fmt.Errorf("a %s value cannot go into %s", v.Kind, c.typ)
	}
	s := v.S
	if n := fracLen(s); n > c.fracDigits() {
		return dst, fmt.Errorf("has %d fractional second digits; %s keeps %d (PostgreSQL would round it)", n, c.typ, c.fracDigits())
	}
	if c.fam == famInterval {
		if c.intervalDropsSeconds() {
			return dst, fmt.Errorf("%s drops seconds", c.typ)
		}
		return append(dst, s...), nil
	}
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimLeft(s, "-")
	zero := strings.Trim(digits, "0:.") == ""
	h, _, _ := strings.Cut(digits, ":")
	hours, err := strconv.Atoi(h)
	if err != nil {
		return dst, errors.New("is not a time")
	}
	if neg && !zero || hours > 24 || hours == 24 && strings.Trim(digits[len(h):], "0:.") != "" {
		return dst, fmt.Errorf("is outside a day; a %s column holds 00:00:00 to 24:00:00 (use interval)", c.typ)
	}
	dst = append(dst, digits...)
	if c.fam == famTimetz {
		dst = append(dst, "+00"...)
	}
	return dst, nil
}
