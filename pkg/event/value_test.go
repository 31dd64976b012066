package event

import "testing"

func TestKnownType(t *testing.T) {
	for _, typ := range []string{"int(11)", "bigint(20) unsigned", "decimal(65,30)", "varchar(64)", "longtext", "json",
		"enum('a','b')", "set('a')", "bit(64)", "datetime(6)", "timestamp(6)", "time(6)", "year(4)", "blob", "geometry", "tinyint(1)"} {
		if !KnownType(typ) {
			t.Errorf("%s: not known", typ)
		}
	}
	for _, typ := range []string{"frobnicate", "frobnicate(64)", "", "vector(3)"} {
		if KnownType(typ) {
			t.Errorf("%q: known", typ)
		}
	}
}
