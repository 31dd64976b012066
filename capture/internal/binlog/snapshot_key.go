package binlog

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// encodeKey turns the key values of the last row emitted into After.
func encodeKey(vals []event.Value) ([]string, bool) {
	b64 := false
	for _, v := range vals {
		if v.Kind == event.Bytes && !utf8.Valid(v.B) {
			b64 = true
		}
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		var s string
		switch v.Kind {
		case event.Int, event.Year:
			s = strconv.FormatInt(v.I, 10)
		case event.Uint, event.Bit:
			s = strconv.FormatUint(v.U, 10)
		case event.Float:
			s = strconv.FormatFloat(v.F, 'g', -1, 64)
		case event.Bytes, event.JSON:
			s = string(v.B)
		default:
			s = v.S
		}
		if b64 {
			s = base64.StdEncoding.EncodeToString([]byte(s))
		}
		out[i] = s
	}
	return out, b64
}

// decodeKey returns After as query arguments of the key columns' kinds,
// so integers compare as integers (a string argument would compare as a
// double and lose BIGINT precision).
func decodeKey(after []string, b64 bool, kinds []event.Kind) ([]any, error) {
	if len(after) != len(kinds) {
		return nil, fmt.Errorf("stored snapshot key %q has %d values for a key of %d columns (did the key change?)", after, len(after), len(kinds))
	}
	out := make([]any, len(after))
	for i, s := range after {
		if b64 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("stored snapshot key %q: %w", s, err)
			}
			s = string(b)
		}
		var err error
		switch kinds[i] {
		case event.Int, event.Year:
			out[i], err = strconv.ParseInt(s, 10, 64)
		case event.Uint, event.Bit:
			out[i], err = strconv.ParseUint(s, 10, 64)
		case event.Float:
			out[i], err = strconv.ParseFloat(s, 64)
		case event.Bytes:
			out[i] = []byte(s)
		default:
			out[i] = s
		}
		if err != nil {
			return nil, fmt.Errorf("stored snapshot key %q: %w", s, err)
		}
	}
	return out, nil
}
