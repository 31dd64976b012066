package debezium

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// appendValue writes one column value in the forms the package comment
// lists. It refuses values it could not write back exactly, rather than
// change them on the way (G8).
func appendValue(dst []byte, col *event.Column, v *event.Value) ([]byte, error) {
	if v.Kind == event.Null {
		return jsonw.Null(dst), nil
	}
	if v.Kind != col.Kind {
		return dst, fmt.Errorf("value of kind %v in a %v column (%s)", v.Kind, col.Kind, col.Type)
	}
	switch v.Kind {
	case event.Int, event.Year:
		return jsonw.Int(dst, v.I), nil
	case event.Uint:
		return jsonw.Uint(dst, v.U), nil
	case event.Float:
		bits := floatBits(col)
		if bits == 32 && float64(float32(v.F)) != v.F && v.F == v.F {
			return dst, fmt.Errorf("%v in a FLOAT column is not a 32-bit float", v.F)
		}
		return jsonw.Float(dst, v.F, bits), nil
	case event.Decimal, event.String, event.Enum, event.Date, event.Time:
		return jsonw.String(dst, v.S), nil
	case event.DateTime:
		return appendISO(dst, v.S, false), nil
	case event.Timestamp:
		return appendISO(dst, v.S, true), nil
	case event.Bytes:
		return jsonw.Base64(dst, v.B), nil
	case event.Bit:
		return appendBits(dst, bitWidth(col.Type), v.U)
	case event.Set:
		return appendSet(dst, v.Set)
	case event.JSON:
		// jsonw.String does not keep its argument, so viewing the bytes as
		// a string saves copying documents that can be megabytes long.
		return jsonw.String(dst, unsafe.String(unsafe.SliceData(v.B), len(v.B))), nil
	}
	return dst, fmt.Errorf("cannot encode a value of kind %v", v.Kind)
}

// appendISO turns MySQL's "YYYY-MM-DD HH:MM:SS[.f]" into ISO-8601 with a T
// (and a Z for TIMESTAMP, which is UTC). Text of another shape is written
// as it is; the decoder then rejects it, loudly.
func appendISO(dst []byte, s string, utc bool) []byte {
	dst = append(dst, '"')
	if len(s) > 10 && s[10] == ' ' {
		dst = append(dst, s[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, s[11:]...)
	} else {
		dst = append(dst, s...)
	}
	if utc {
		dst = append(dst, 'Z')
	}
	return append(dst, '"')
}

// appendBits writes BIT(1) as a boolean and wider BITs as base64 of their
// ceil(n/8) bytes, least significant first (Debezium's Bits).
func appendBits(dst []byte, n int, u uint64) ([]byte, error) {
	if n < 64 && u>>n != 0 {
		return dst, fmt.Errorf("bit value %#x does not fit BIT(%d)", u, n)
	}
	if n == 1 {
		return jsonw.Bool(dst, u == 1), nil
	}
	var b [8]byte
	nb := (n + 7) / 8
	for i := range nb {
		b[i] = byte(u >> (8 * i))
	}
	return jsonw.Base64(dst, b[:nb]), nil
}

var errSetComma = errors.New("a SET member contains a comma, which the comma-joined form cannot carry")

// appendSet writes the members joined with commas without building the
// joined string: each member is escaped in place and its quotes dropped.
func appendSet(dst []byte, members []string) ([]byte, error) {
	dst = append(dst, '"')
	for i, m := range members {
		if strings.IndexByte(m, ',') >= 0 {
			return dst, errSetComma
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		at := len(dst)
		dst = jsonw.String(dst, m)
		copy(dst[at:], dst[at+1:len(dst)-1])
		dst = dst[:len(dst)-2]
	}
	return append(dst, '"'), nil
}

// floatBits is 32 for FLOAT columns and 64 for DOUBLE (and REAL, which is
// DOUBLE unless the server runs with REAL_AS_FLOAT).
func floatBits(col *event.Column) int {
	if hasPrefixFold(col.Type, "float") {
		return 32
	}
	return 64
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// bitWidth reads n from "bit(n)"; 64 when the type does not say, so no bit
// is ever dropped.
func bitWidth(typ string) int {
	if !hasPrefixFold(typ, "bit(") {
		return 64
	}
	w := 0
	for _, c := range typ[4:] {
		if c < '0' || c > '9' {
			break
		}
		w = w*10 + int(c-'0')
		if w > 64 {
			return 64
		}
	}
	if w < 1 {
		return 64
	}
	return w
}
