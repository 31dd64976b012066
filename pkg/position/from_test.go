package position

import (
	"strings"
	"testing"
	"time"
)

func TestParseFrom(t *testing.T) {
	tests := []struct {
		in   string
		want From
	}{
		{"earliest", From{Kind: FromEarliest}},
		{"latest", From{Kind: FromLatest}},
		{"gtid:0-1-100,1-2-5", From{Kind: FromGTID, GTID: "0-1-100,1-2-5", Flavor: FlavorMariaDB}},
		{"gtid:" + uuidA + ":1-5:7,\n " + uuidB + ":1", From{Kind: FromGTID, GTID: uuidA + ":1-5:7," + uuidB + ":1", Flavor: FlavorMySQL}},
		{"file:mariadb-bin.000003:4", From{Kind: FromFile, File: "mariadb-bin.000003", Pos: 4}},
		{"file:host:a-bin.000001:77", From{Kind: FromFile, File: "host:a-bin.000001", Pos: 77}}, // split at the last colon
		{"time:2026-01-02T15:04:05Z", From{Kind: FromTime, Time: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)}},
		{"time:2026-01-02T16:04:05.5+01:00", From{Kind: FromTime, Time: time.Date(2026, 1, 2, 15, 4, 5, 5e8, time.UTC)}},
		{"token:8263A1B2C3", From{Kind: FromToken, Token: "8263A1B2C3"}},
		{`token:{"_data":"8263"}`, From{Kind: FromToken, Token: `{"_data":"8263"}`}},
		{`{"gtid":"0-1-5","file":"b.000001","pos":99,"server_id":1}`,
			From{Kind: FromPosition, Position: MySQL{GTIDSet: "0-1-5", File: "b.000001", Pos: 99, ServerID: 1}}},
	}
	for _, tt := range tests {
		got, err := ParseFrom(tt.in)
		if err != nil {
			t.Errorf("ParseFrom(%q) = %v", tt.in, err)
			continue
		}
		if !sameFrom(got, tt.want) {
			t.Errorf("ParseFrom(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		back, err := ParseFrom(got.String())
		if err != nil || !sameFrom(back, got) {
			t.Errorf("ParseFrom(%q.String() = %q) = %+v, %v", tt.in, got.String(), back, err)
		}
	}
}

func TestParseFromErrors(t *testing.T) {
	tests := []struct{ in, err string }{
		{"", "want earliest, latest, gtid:<set>"},
		{"oldest", `--from "oldest": want earliest, latest`},
		{"EARLIEST", "want earliest"},
		{"gtid:", "GTID set is empty"},
		{"gtid:0-1", `element "0-1": want <domain>-<server id>-<sequence>`},
		{"gtid:" + uuidA + ":x-1", `"x-1"`},
		{"gtid:" + uuidA + ":1-x", `interval "1-x"`},
		{"file:mariadb-bin.000003", "want file:<binlog>:<pos>"},
		{"file:mariadb-bin.000003:-1", `pos "-1" is not a number`},
		{"file:mariadb-bin.000003:+4", `pos "+4" is not a number`},
		{"file:mariadb-bin.000003:2", "before the first event"},
		{"file::4", "pos 4 without a binlog file"},
		{"file:binlog:4", `binlog file "binlog": want <base name>.<number>`},
		{"time:yesterday", `"yesterday" is not an RFC3339 time`},
		{"time:2026-01-02T15:04:05", "with a zone"},
		{"token:", "resume token is empty"},
		{"token:xyz", `resume token "xyz"`},
		{"token:abc", "even number of hex digits"},
		{`token:{"_data":`, "not a JSON document"},
		{`{"gtid":"0-1-5","bogus":1}`, "unknown"},
	}
	for _, tt := range tests {
		f, err := ParseFrom(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseFrom(%q) = %+v, %v; want error containing %q", tt.in, f, err, tt.err)
		}
	}
}

// sameFrom compares Froms, times by instant.
func sameFrom(a, b From) bool {
	at, bt := a.Time, b.Time
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}

func TestFromKindString(t *testing.T) {
	if FromGTID.String() != "gtid" || FromKind(0).String() != "FromKind(0)" || FromKind(99).String() != "FromKind(99)" {
		t.Errorf("kind names: %v %v %v", FromGTID, FromKind(0), FromKind(99))
	}
}
