package mongo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// Row is the sink's input row.
type Row = sink.Row

// valueError is a value BSON cannot hold under the configured policy; the
// caller turns it into a *sink.RowError naming the column.
type valueError struct {
	column, value string
	err           error
}

func (e *valueError) Error() string { return e.column + ": " + e.err.Error() }

// converter turns SQL column values into BSON values (DESIGN §7
// cross-engine mapping):
//
//	TINYINT..INT, YEAR    int32        BIGINT            int64
//	unsigned above int64  Decimal128 (exact)
//	FLOAT, DOUBLE         double       DECIMAL           Decimal128 (or string)
//	CHAR..TEXT, ENUM      string       SET               array of strings
//	BINARY, BLOB          binary (subtype 0)
//	DATE                  date (midnight UTC)
//	DATETIME, TIMESTAMP   date (UTC; see Config.SubMillis)
//	TIME                  string "[-]HH:MM:SS[.ffffff]" (BSON has no time of day)
//	BIT                   int64        JSON              embedded document/array/scalar
//	zero dates            their text ("0000-00-00 00:00:00"): no BSON date holds them
type converter struct {
	decimals, subMillis string
}

func (cv *converter) value(col *event.Column, v event.Value) (any, error) {
	switch v.Kind {
	case event.Null:
		return nil, nil
	case event.Int:
		if isBig(col.Type) || v.I > math.MaxInt32 || v.I < math.MinInt32 {
			return v.I, nil
		}
		return int32(v.I), nil
	case event.Uint, event.Bit:
		switch {
		case v.U > math.MaxInt64:
			d, err := bson.ParseDecimal128(strconv.FormatUint(v.U, 10))
			if err != nil {
				return nil, err
			}
			if cv.decimals == DecimalsString {
				return strconv.FormatUint(v.U, 10), nil
			}
			return d, nil
		case v.Kind == event.Uint && !isBig(col.Type) && v.U <= math.MaxInt32:
			return int32(v.U), nil
		}
		return int64(v.U), nil
	case event.Year:
		return int32(v.I), nil
	case event.Float:
		return v.F, nil
	case event.Decimal:
		if cv.decimals == DecimalsString {
			return v.S, nil
		}
		d, err := bson.ParseDecimal128(v.S)
		if err != nil {
			return nil, fmt.Errorf("DECIMAL %s does not fit Decimal128 (34 digits): %w", v.S, err)
		}
		return d, nil
	case event.String, event.Enum, event.Time:
		return v.S, nil
	case event.Bytes:
		return bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: v.B}, nil
	case event.Set:
		a := make(bson.A, len(v.Set))
		for i, m := range v.Set {
			a[i] = m
		}
		return a, nil
	case event.Date, event.DateTime, event.Timestamp:
		return cv.temporal(v)
	case event.JSON:
		return jsonToBSON(v.B)
	case event.Absent:
		return nil, errors.New("absent value")
	}
	return nil, fmt.Errorf("value kind %v has no BSON mapping", v.Kind)
}

// isBig reports a BIGINT column: its values are int64 even when small, so
// one column has one BSON type.
func isBig(columnType string) bool { return strings.HasPrefix(strings.ToLower(columnType), "bigint") }

// temporal parses "YYYY-MM-DD[ HH:MM:SS[.ffffff]]" as UTC (TIMESTAMP values
// are UTC in events; DATETIME has no zone and is stored as if UTC).
func (cv *converter) temporal(v event.Value) (any, error) {
	s := v.S
	if strings.HasPrefix(s, "0000-") || strings.Contains(s, "-00") {
		return s, nil // zero or partial-zero date: only the text holds it
	}
	layout := "2006-01-02"
	if len(s) > 10 {
		layout = "2006-01-02 15:04:05.999999"
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return nil, fmt.Errorf("temporal value %q: %w", s, err)
	}
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		switch cv.subMillis {
		case SubMillisTruncate:
			t = t.Truncate(time.Millisecond)
		case SubMillisString:
			return s, nil
		default:
			return nil, fmt.Errorf("%q has digits below the millisecond, which a BSON date cannot hold (set sub_millis: truncate or string)", s)
		}
	}
	return bson.NewDateTimeFromTime(t), nil
}

// jsonToBSON converts JSON text to BSON keeping key order: objects become
// documents, arrays arrays, integers int64 (int32 when small), other
// numbers doubles. It does not read Extended JSON: a MySQL JSON value
// {"$oid": "..."} stays a document with a field named $oid.
func jsonToBSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := jsonValue(dec)
	if err != nil {
		return nil, fmt.Errorf("JSON value: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("JSON value: trailing data")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := bson.D{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				d = append(d, bson.E{Key: k.(string), Value: v})
			}
			_, err := dec.Token() // '}'
			return d, err
		case '[':
			a := bson.A{}
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token() // ']'
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return int32(i), nil
			}
			return i, nil
		}
		return t.Float64()
	default:
		return t, nil // string, bool, nil
	}
}
