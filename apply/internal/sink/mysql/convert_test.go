package mysql

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
)

func TestBitBytes(t *testing.T) {
	cases := []struct {
		u     uint64
		width int
		want  []byte
	}{
		{0, 1, []byte{0}},
		{1, 1, []byte{1}},
		{2, 1, []byte{2}}, // too wide: the server refuses it
		{0x1ff, 9, []byte{1, 0xff}},
		{0x1ff, 12, []byte{1, 0xff}},
		{0, 64, make([]byte, 8)},
		{math.MaxUint64, 64, bytes.Repeat([]byte{0xff}, 8)},
		{0x10000, 16, []byte{1, 0, 0}},
	}
	for _, c := range cases {
		if got := bitBytes(c.u, c.width); !bytes.Equal(got, c.want) {
			t.Errorf("bitBytes(%#x, %d) = %x, want %x", c.u, c.width, got, c.want)
		}
	}
}

func TestIsZeroDate(t *testing.T) {
	for s, want := range map[string]bool{
		"0000-00-00": true, "0000-00-00 00:00:00.000000": true, "2024-00-10": true, "2024-05-00 12:00:00": true,
		"0000-01-01": false, "1000-01-01": false, "9999-12-31 23:59:59": false, "-838:59:59": false, "": false,
	} {
		if got := isZeroDate(s); got != want {
			t.Errorf("isZeroDate(%q) = %v", s, got)
		}
	}
}

func TestParam(t *testing.T) {
	s := &Sink{cfg: Config{ZeroDates: ZeroDatesKeep}}
	bit12 := &column{dataType: "bit", bitWidth: 12}
	cases := []struct {
		v    event.Value
		c    *column
		want any
	}{
		{event.NullValue(), nil, nil},
		{event.UintValue(math.MaxUint64), nil, uint64(math.MaxUint64)},
		{event.IntValue(math.MinInt64), nil, int64(math.MinInt64)},
		{event.DecimalValue("-0.000001"), nil, "-0.000001"},
		{event.FloatValue(float64(float32(-1.17549435e-38))), nil, float64(float32(-1.17549435e-38))},
		{event.BitValue(5), bit12, []byte{0, 5}},
		{event.BitValue(5), &column{dataType: "bigint"}, uint64(5)},
		{event.SetValue([]string{"a", "c"}), nil, "a,c"},
		{event.SetValue([]string{}), nil, ""},
		{event.JSONValue([]byte(`{"a":1}`)), nil, `{"a":1}`},
		{event.BytesValue(nil), nil, []byte{}},
		{event.TimeValue("-838:59:59.000000"), nil, "-838:59:59.000000"},
		{event.DateValue("0000-00-00"), nil, "0000-00-00"},
		{event.YearValue(2155), nil, int64(2155)},
	}
	for _, c := range cases {
		got, err := s.param(c.v, c.c)
		if err != nil {
			t.Errorf("param(%v): %v", c.v, err)
			continue
		}
		if b, ok := c.want.([]byte); ok {
			if gb, ok := got.([]byte); !ok || !bytes.Equal(gb, b) || gb == nil {
				t.Errorf("param(%v) = %#v, want %#v", c.v, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("param(%v) = %#v, want %#v", c.v, got, c.want)
		}
	}
}

func TestValueText(t *testing.T) {
	long := strings.Repeat("é", 150)
	got := valueText(event.StringValue(long))
	if !strings.HasSuffix(got, "...") || len(got) > maxValueText+3 {
		t.Errorf("long value not shortened: %d bytes", len(got))
	}
	if got := valueText(event.BytesValue([]byte{0, 0xff})); got != "0x00ff" {
		t.Errorf("bytes as %q", got)
	}
}
