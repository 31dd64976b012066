package position

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMySQLJSON(t *testing.T) {
	tests := []struct {
		p    MySQL
		json string
		str  string
	}{
		{
			MySQL{GTIDSet: "0-1-10,1-2-3", File: "mariadb-bin.000001", Pos: 1234, ServerID: 1, Flavor: FlavorMariaDB},
			`{"gtid":"0-1-10,1-2-3","file":"mariadb-bin.000001","pos":1234,"server_id":1,"flavor":"mariadb"}`,
			"gtid 0-1-10,1-2-3 (mariadb-bin.000001:1234)",
		},
		{
			MySQL{GTIDSet: uuidA + ":1-5", ServerUUID: uuidA, ServerID: 7},
			`{"gtid":"` + uuidA + `:1-5","server_id":7,"server_uuid":"` + uuidA + `"}`,
			"gtid " + uuidA + ":1-5",
		},
		{
			MySQL{File: "mysql-bin.000003", Pos: 4},
			`{"file":"mysql-bin.000003","pos":4}`,
			"mysql-bin.000003:4",
		},
	}
	for _, tt := range tests {
		if got := tt.p.JSON(); got != tt.json {
			t.Errorf("JSON = %s\nwant   %s", got, tt.json)
		}
		if got := tt.p.String(); got != tt.str {
			t.Errorf("String = %q, want %q", got, tt.str)
		}
		back, err := ParseMySQL(tt.json)
		if err != nil || back != tt.p {
			t.Errorf("ParseMySQL(%s) = %+v, %v", tt.json, back, err)
		}
		// Inside a record, through encoding/json, the methods are used.
		rec, err := json.Marshal(struct {
			MySQL *MySQL `json:"mysql"`
		}{&tt.p})
		if err != nil || string(rec) != `{"mysql":`+tt.json+`}` {
			t.Errorf("record = %s, %v", rec, err)
		}
	}
}

func TestParseMySQLRejects(t *testing.T) {
	tests := []struct{ in, err string }{
		{`{}`, "neither a GTID set nor a binlog file"},
		{`null`, "neither a GTID set nor a binlog file"},
		{`{"file":"x.000001"}`, "binlog pos 0 is before the first event"},
		{`{"pos":4}`, "pos 4 without a binlog file"},
		{`{"file":"binlog","pos":4}`, `binlog file "binlog": want <base name>.<number>`},
		{`{"file":"a b.000001","pos":4}`, "space or control character"},
		{`{"gtid":"zz"}`, `element "zz"`},
		{`{"gtid":"0-1-1","flavor":"oracle"}`, `flavor "oracle"`},
		{`{"gtid":"0-1-1","flavor":"mysql"}`, "want <server uuid>:<interval>"},
		{`{"gtid":"0-1-1","server_uuid":"nope"}`, `server_uuid "nope" is not a UUID`},
		{`{"gtid":"0-1-1","bogus":1}`, "unknown"},
		{`{"GTID":"0-1-1"}`, "unknown"}, // names are case-sensitive
		{`{"gtid":"0-1-1","gtid":"0-1-2"}`, "duplicate"},
		{`{"gtid":"0-1-1","server_id":4294967296}`, "server_id"},
		{`{"file":"b.000001","pos":-4}`, "pos"},
		{`{"file":"b.000001","pos":4.5}`, "pos"},
		{`{"file":"b.000001","pos":"4"}`, "pos"},
		{`{"gtid":"0-1-1"} {}`, "invalid"},
		{`[`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		_, err := ParseMySQL(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseMySQL(%s) = %v, want error containing %q", tt.in, err, tt.err)
		}
	}
	// A failed unmarshal leaves the value alone.
	p := MySQL{GTIDSet: "0-1-1"}
	if err := p.UnmarshalJSON([]byte(`{"gtid":"bad"}`)); err == nil || p.GTIDSet != "0-1-1" {
		t.Errorf("UnmarshalJSON changed p on error: %+v, %v", p, err)
	}
}
