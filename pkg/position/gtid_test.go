package position

import (
	"strings"
	"testing"
)

const (
	uuidA = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
	uuidB = "3e11fa47-71ca-11e1-9e33-c80aa9429563"
)

func TestValidateGTIDSet(t *testing.T) {
	tests := []struct {
		flavor, set string
		err         string // "" for valid; else a substring naming the problem
	}{
		// MySQL
		{"", uuidA + ":1-5", ""},
		{"", uuidA + ":1-5:7:9-12," + uuidB + ":1", ""},
		{"mysql", uuidA + ":1-5,\n" + uuidB + ":3", ""}, // as @@gtid_executed prints it
		{"", "3e11fa4771ca11e19e33c80aa9429562:1", ""},  // bare hex UUID
		{"", uuidA + ":tag_1:1-3:4", ""},                // MySQL 8.4 tagged GTIDs
		{"", uuidA + ":1-3:_t:5", ""},
		{"", uuidA + ":9223372036854775807", ""},
		{"", uuidA, "want <server uuid>:<interval>"},
		{"", uuidA + ":", `interval ""`},
		{"", uuidA + ":0-5", `interval "0-5"`},
		{"", uuidA + ":5-3", `interval "5-3" ends before it starts`},
		{"", uuidA + ":1-", `interval "1-"`},
		{"", uuidA + ":+1", `interval "+1"`},
		{"", uuidA + ":1-2-3", `interval "1-2-3"`},
		{"", uuidA + ":9223372036854775808", `interval "9223372036854775808"`},
		{"", uuidA + ":t1", `tag "t1" has no interval`},
		{"", uuidA + ":t1:t2:1", `tag "t1" has no interval`},
		{"", uuidA + ":" + strings.Repeat("t", 33) + ":1", "longer than 32"},
		{"", "3E11FA47-71CA-11E1-9E33-C80AA942956:1", `"3E11FA47-71CA-11E1-9E33-C80AA942956" is not a server UUID`},
		{"", "3E11FA4771CA-11E1-9E33-C80AA94295620:1", "is not a server UUID"},
		{"", uuidA + ":1,", "element 2 is empty"},
		{"", uuidA + ":1,0-1-5", `element "0-1-5": want <server uuid>:<interval>`}, // mixed flavors
		// MariaDB
		{"", "0-1-100", ""},
		{"", "0-1-100,1-2-5", ""},
		{"mariadb", "0-1-100, 1-2-5", ""},
		{"", "4294967295-4294967295-18446744073709551615", ""},
		{"", "0-1", "want <domain>-<server id>-<sequence>"},
		{"", "0-1-2-3", "want <domain>-<server id>-<sequence>"},
		{"", "4294967296-1-1", `domain "4294967296" is not a 32-bit`},
		{"", "0-x-1", `server id "x" is not a 32-bit`},
		{"", "0-1-18446744073709551616", `sequence "18446744073709551616" is not a 64-bit`},
		{"", "0-1-+5", `sequence "+5"`},
		{"", "0-1-5,0-2-7", "domain 0 appears twice"},
		{"", "0-1-5," + uuidA + ":1", `element "` + uuidA + `:1": want <domain>-<server id>-<sequence>`},
		// Flavor given and not matching the set's syntax.
		{"mariadb", uuidA + ":1", "want <domain>-<server id>-<sequence>"},
		{"mysql", "0-1-5", "want <server uuid>:<interval>"},
		{"oracle", "0-1-5", `flavor "oracle"`},
		{"", "", "GTID set is empty"},
		{"", " \n", "GTID set is empty"},
	}
	for _, tt := range tests {
		err := ValidateGTIDSet(tt.flavor, tt.set)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ValidateGTIDSet(%q, %q) = %v, want nil", tt.flavor, tt.set, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ValidateGTIDSet(%q, %q) = %v, want error containing %q", tt.flavor, tt.set, err, tt.err)
		}
	}
}

func TestGTIDFlavor(t *testing.T) {
	if f := GTIDFlavor(uuidA + ":1"); f != FlavorMySQL {
		t.Errorf("MySQL set detected as %q", f)
	}
	if f := GTIDFlavor("0-1-2,1-2-3"); f != FlavorMariaDB {
		t.Errorf("MariaDB set detected as %q", f)
	}
}
