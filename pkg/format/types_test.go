package format

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

func TestAppendTypes(t *testing.T) {
	cols := []event.Column{
		{Name: "id", Type: "int(10) unsigned"},
		{Name: "c_dec20", Type: "decimal(20,6)"},
		{Name: `we"ird`, Type: "enum('a','b\\\\')"},
	}
	got := string(AppendTypes([]byte("x"), cols))
	want := `x{"id":"int(10) unsigned","c_dec20":"decimal(20,6)","we\"ird":"enum('a','b\\\\')"}`
	if got != want {
		t.Fatalf("AppendTypes = %s\nwant          %s", got, want)
	}
	if got := string(AppendTypes(nil, nil)); got != "{}" {
		t.Fatalf("AppendTypes(nil) = %s, want {}", got)
	}
}

func TestTypesRoundTripFixture(t *testing.T) {
	cols := eventtest.EventColumns()
	b := AppendTypes(nil, cols)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	back, err := ParseTypes(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, cols) {
		t.Fatalf("round trip:\n got %v\nwant %v", back, cols)
	}
}

func TestParseTypes(t *testing.T) {
	tests := []struct {
		in      string
		want    []event.Column
		wantErr string // substring; "" means success
	}{
		{in: `{}`, want: []event.Column{}},
		{in: " {\"a\" : \"bigint(20) unsigned\" , \"b\":\"json\"}\n", want: []event.Column{
			{Name: "a", Type: "bigint(20) unsigned", Kind: event.Uint},
			{Name: "b", Type: "json", Kind: event.JSON},
		}},
		{in: `{"\u00fc":"varchar(3)"}`, want: []event.Column{{Name: "ü", Type: "varchar(3)", Kind: event.String}}},
		{in: ``, wantErr: "byte 0"},
		{in: `[]`, wantErr: "want a JSON object"},
		{in: `"x"`, wantErr: "want a JSON object"},
		{in: `{"a":1}`, wantErr: `byte 5: type of column "a": want a JSON string`},
		{in: `{"a":null}`, wantErr: "want a JSON string"},
		{in: `{"a":{}}`, wantErr: "want a JSON string"},
		{in: `{"":"int"}`, wantErr: "empty column name"},
		{in: `{"a":"int","a":"int"}`, wantErr: "duplicate"},
		{in: `{"a":"int"`, wantErr: "unexpected EOF"},
		{in: `{"a":"int",}`, wantErr: "byte 10"},
		{in: `{"a":"int"} {}`, wantErr: "after the object"},
		{in: `{"a":"int"}x`, wantErr: "after the object"},
		{in: "{\"a\":\"\xff\"}", wantErr: "UTF-8"},
	}
	for _, tt := range tests {
		got, err := ParseTypes([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTypes(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTypes(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) || got == nil {
			t.Errorf("ParseTypes(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseTypes(f *testing.F) {
	f.Add([]byte(AppendTypes(nil, eventtest.EventColumns())))
	f.Add([]byte(`{"a":"int","b":"set('x','y')"}`))
	f.Add([]byte(`{"a":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cols, err := ParseTypes(b)
		if err != nil {
			return
		}
		// What parses must survive a write and a second parse unchanged.
		again, err := ParseTypes(AppendTypes(nil, cols))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b, err)
		}
		if !slices.Equal(cols, again) {
			t.Fatalf("unstable: %v then %v", cols, again)
		}
		for _, c := range cols {
			if c.Kind != event.KindOf(c.Type) {
				t.Fatalf("column %q kind %v, want %v", c.Name, c.Kind, event.KindOf(c.Type))
			}
		}
	})
}
