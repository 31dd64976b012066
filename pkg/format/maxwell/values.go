package maxwell

import (
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// appendValue appends one column value in Maxwell's encoding. The value's
// Kind must agree with the column's: a mismatch means the event was built
// wrong, and guessing would change data on the way (G8).
func appendValue(dst []byte, col *event.Column, v *event.Value) ([]byte, error) {
	if v.Kind == event.Null {
		return jsonw.Null(dst), nil
	}
	if v.Kind == event.Absent {
		return dst, errAbsent
	}
	if col.Kind != event.Absent && v.Kind != col.Kind {
		return dst, fmt.Errorf("value of kind %v in a column of kind %v (%s)", v.Kind, col.Kind, col.Type)
	}
	switch v.Kind {
	case event.Int, event.Year:
		return jsonw.Int(dst, v.I), nil
	case event.Uint, event.Bit:
		return jsonw.Uint(dst, v.U), nil
	case event.Float:
		// The source's own shortest text wins when it is a JSON number.
		if v.S != "" && validNumber(v.S) {
			return append(dst, v.S...), nil
		}
		return jsonw.Float(dst, v.F, floatBits(col)), nil
	case event.Decimal:
		if !validNumber(v.S) {
			return dst, fmt.Errorf("decimal %q is not a number", v.S)
		}
		return append(dst, v.S...), nil
	case event.String, event.Enum, event.Date, event.DateTime, event.Timestamp, event.Time:
		return jsonw.String(dst, v.S), nil
	case event.Bytes:
		return jsonw.Base64(dst, v.B), nil
	case event.Set:
		dst = append(dst, '[')
		for i, m := range v.Set {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonw.String(dst, m)
		}
		return append(dst, ']'), nil
	case event.JSON:
		if !jsontext.Value(v.B).IsValid() {
			return dst, fmt.Errorf("JSON column value is not valid JSON: %.64q", v.B)
		}
		return append(dst, v.B...), nil
	}
	return dst, fmt.Errorf("unknown value kind %v", v.Kind)
}

// floatBits is 32 for FLOAT columns, whose values are float32 widened, so
// the shortest text is the float32 one ("0.1", not "0.10000000149011612").
func floatBits(col *event.Column) int {
	if strings.HasPrefix(col.Type, "float") {
		return 32
	}
	return 64
}

// validNumber reports whether s is a JSON number (RFC 8259 grammar), the
// check that keeps verbatim decimal text from breaking the envelope.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
