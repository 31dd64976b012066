package mysql

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// Zero-date policies (Config.ZeroDates).
const (
	// ZeroDatesKeep writes zero dates verbatim; the session's sql_mode
	// allows them, as MySQL and MariaDB do when NO_ZERO_DATE is off.
	ZeroDatesKeep = "keep"
	// ZeroDatesNull writes NULL instead and calls Config.OnZeroDate.
	ZeroDatesNull = "null"
	// ZeroDatesError refuses the row (G6).
	ZeroDatesError = "error"
)

// errZeroDate is the cause of a RowError under ZeroDatesError.
var errZeroDate = errors.New("zero date refused (zero_dates: error)")

// param turns v, a value of source column src, into the driver argument
// that stores it exactly in column c. Values stay in their text or
// integer form: the server parses decimal and temporal text itself, which
// is exact, whereas a float64 or a time.Time on the way would not be
// (G8). A value whose source type is unknown (a genuine Maxwell or
// Debezium message) is first read as column c needs it
// (sink.ConvertUntyped: base64 binary, Debezium's epoch integers and
// unscaled decimals, SET members from a JSON array).
func (s *Sink) param(v event.Value, src *event.Column, c *column) (any, error) {
	if sink.Untyped(src) && c != nil {
		var err error
		if v, err = sink.ConvertUntyped(v, c.untyped); err != nil {
			return nil, err
		}
	}
	switch v.Kind {
	case event.Null:
		return nil, nil
	case event.Int, event.Year:
		return v.I, nil
	case event.Uint:
		// The driver sends uint64 with the unsigned flag (binary protocol)
		// or as decimal digits (text), so 2^64-1 arrives whole.
		return v.U, nil
	case event.Float:
		// A FLOAT column gets the float32 back exactly: F is the float32
		// widened without rounding, and the server narrows it again.
		return v.F, nil
	case event.Decimal, event.String, event.Enum, event.Time:
		return v.S, nil
	case event.Bytes:
		if v.B == nil {
			return []byte{}, nil // a nil []byte would be NULL
		}
		return v.B, nil
	case event.JSON:
		// As text, not []byte: a binary-charset string is refused by
		// MySQL 8 JSON columns and would skip MariaDB's utf8mb4 check.
		return string(v.B), nil
	case event.Date, event.DateTime, event.Timestamp:
		if !isZeroDate(v.S) {
			return v.S, nil
		}
		switch s.cfg.ZeroDates {
		case ZeroDatesNull:
			if s.cfg.OnZeroDate != nil {
				s.cfg.OnZeroDate()
			}
			return nil, nil
		case ZeroDatesError:
			return nil, errZeroDate
		}
		return v.S, nil
	case event.Bit:
		if c != nil && c.bitWidth > 0 {
			return bitBytes(v.U, c.bitWidth), nil
		}
		return v.U, nil
	case event.Set:
		return strings.Join(v.Set, ","), nil
	}
	return nil, fmt.Errorf("no conversion for a value of kind %s", v.Kind)
}

// bitBytes is u as the big-endian bytes of a BIT(width) column. A value
// wider than the column keeps its high bytes, so the server refuses it
// (strict mode, "Data too long") instead of storing a truncated value.
func bitBytes(u uint64, width int) []byte {
	n := (width + 7) / 8
	for n < 8 && u>>(8*n) != 0 {
		n++
	}
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
	}
	return b
}

// isZeroDate reports a date with a zero month or day ("0000-00-00",
// "2024-00-10"): what NO_ZERO_DATE and NO_ZERO_IN_DATE refuse.
func isZeroDate(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	return s[5:7] == "00" || s[8:10] == "00"
}

// maxValueText bounds a value quoted in an error message.
const maxValueText = 200

// valueText is v as text for error messages (RowError.Value).
func valueText(v event.Value) string {
	var s string
	switch v.Kind {
	case event.Absent:
		return ""
	case event.Null:
		return "NULL"
	case event.Int, event.Year:
		s = strconv.FormatInt(v.I, 10)
	case event.Uint, event.Bit:
		s = strconv.FormatUint(v.U, 10)
	case event.Float:
		s = v.S
		if s == "" {
			s = strconv.FormatFloat(v.F, 'g', -1, 64)
		}
	case event.Bytes:
		s = "0x" + hex.EncodeToString(v.B)
	case event.JSON:
		s = string(v.B)
	case event.Set:
		s = strings.Join(v.Set, ",")
	default:
		s = v.S
	}
	if len(s) > maxValueText {
		cut := maxValueText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // keep the message valid UTF-8
		}
		s = s[:cut] + "..."
	}
	return s
}
