package jsonw

import (
	"encoding/json"
	"math"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"nl\n\r\t", `"nl\n\r\t"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"emoji 😀", `"emoji 😀"`},
		{"<&>", `"<&>"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"", `""`},
	}
	for _, tt := range tests {
		got := string(String(nil, tt.in))
		if got != tt.want {
			t.Errorf("String(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("String(%q) produced invalid JSON %s", tt.in, got)
		}
	}
}

func TestFloat(t *testing.T) {
	tests := []struct {
		f    float64
		bits int
		want string
	}{
		{1.5, 64, "1.5"},
		{float64(float32(0.1)), 32, "0.1"},
		{0.1, 64, "0.1"},
		{1e300, 64, "1e+300"},
		{math.NaN(), 64, `"NaN"`},
		{math.Inf(1), 64, `"Infinity"`},
		{math.Inf(-1), 64, `"-Infinity"`},
	}
	for _, tt := range tests {
		if got := string(Float(nil, tt.f, tt.bits)); got != tt.want {
			t.Errorf("Float(%v,%d) = %s, want %s", tt.f, tt.bits, got, tt.want)
		}
	}
}

func TestBase64(t *testing.T) {
	if got := string(Base64([]byte("x"), []byte{0, 1, 2, 0})); got != `x"AAECAA=="` {
		t.Errorf("Base64 = %s", got)
	}
	if got := string(Base64(nil, nil)); got != `""` {
		t.Errorf("Base64(nil) = %s", got)
	}
}

func FuzzString(f *testing.F) {
	f.Add("a\"b\\c\x00\u2028😀\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(nil, s)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %q: %s", s, out)
		}
	})
}
