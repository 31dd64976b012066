package position

import (
	"strings"
	"testing"
)

func TestParseFrom(t *testing.T) {
	tests := []struct {
		in   string
		kind FromKind
		err  string
	}{
		{"earliest", FromEarliest, ""},
		{"latest", FromLatest, ""},
		{"gtid:0-1-100,1-2-5", FromGTID, ""},
		{"gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7,3e11fa4771ca11e19e33c80aa9429563:1", FromGTID, ""},
		{"gtid:0-1", 0, `"0-1" is neither`},
		{"gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:x", 0, `bad interval "x"`},
		{"file:mariadb-bin.000003:4", FromFile, ""},
		{"file:mariadb-bin.000003", 0, "file:<binlog name>:<position>"},
		{"file:mariadb-bin.000003:-1", 0, "not a positive integer"},
		{"time:2026-01-02T15:04:05Z", FromTime, ""},
		{"time:yesterday", 0, "RFC3339"},
		{`{"gtid":"0-1-5","file":"b.000001","pos":99,"server_id":1}`, FromPosition, ""},
		{`{"gtid":"0-1-5","bogus":1}`, 0, "unknown field"},
		{"oldest", 0, "want earliest, latest"},
	}
	for _, tt := range tests {
		f, err := ParseFrom(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseFrom(%q) err = %v, want containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || f.Kind != tt.kind {
			t.Errorf("ParseFrom(%q) = %+v, %v; want kind %d", tt.in, f, err, tt.kind)
		}
	}
	f, _ := ParseFrom("file:a:b.000001:77")
	if f.File != "a:b.000001" || f.Pos != 77 {
		t.Errorf("file with colon = %+v", f)
	}
}

func TestMySQLJSONRoundTrip(t *testing.T) {
	p := MySQL{GTIDSet: "0-1-10,1-2-3", File: "mariadb-bin.000001", Pos: 1234, ServerID: 1, Flavor: "mariadb"}
	s := p.JSON()
	if s != `{"gtid":"0-1-10,1-2-3","file":"mariadb-bin.000001","pos":1234,"server_id":1,"flavor":"mariadb"}` {
		t.Errorf("JSON = %s", s)
	}
	back, err := ParseMySQL(s)
	if err != nil || back != p {
		t.Errorf("ParseMySQL = %+v, %v", back, err)
	}
	if p.String() != "gtid 0-1-10,1-2-3 (mariadb-bin.000001:1234)" {
		t.Errorf("String = %q", p.String())
	}
	for _, bad := range []string{`{}`, `{"file":"x"}`, `{"gtid":"zz"}`, `{"gtid":"0-1-1","flavor":"oracle"}`, `{"gtid":"0-1-1"} {}`, `[`} {
		if _, err := ParseMySQL(bad); err == nil {
			t.Errorf("ParseMySQL(%s) succeeded", bad)
		}
	}
}

func FuzzParseFrom(f *testing.F) {
	for _, s := range []string{"earliest", "gtid:0-1-2", "file:x:4", "time:2026-01-02T15:04:05Z", `{"gtid":"0-1-5"}`, "gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, err := ParseFrom(s)
		if err != nil {
			return
		}
		if from.Kind == FromPosition {
			// A parsed position re-serialises to something that parses equal.
			back, err := ParseMySQL(from.Position.JSON())
			if err != nil || back != from.Position {
				t.Fatalf("position %q re-parsed as %+v, %v", s, back, err)
			}
		}
	})
}
