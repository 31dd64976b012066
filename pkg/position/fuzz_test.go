package position

import (
	"reflect"
	"testing"
)

// The position decoders read what comes from Kafka headers, the position
// topic and the command line; they must never panic, and whatever they
// accept must survive a round trip unchanged.

func FuzzParseMySQL(f *testing.F) {
	for _, s := range []string{
		`{"gtid":"0-1-10,1-2-3","file":"mariadb-bin.000001","pos":1234,"server_id":1,"flavor":"mariadb"}`,
		`{"gtid":"` + uuidA + `:1-5:7","server_uuid":"` + uuidA + `"}`,
		`{"gtid":"` + uuidA + `:tag:1-5"}`,
		`{"file":"mysql-bin.000003","pos":4}`,
		`{"gtid":"0-1-1","gtid":"0-1-2"}`, `{}`, `null`, `[`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseMySQL(s)
		if err != nil {
			return
		}
		back, err := ParseMySQL(p.JSON())
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%s parsed as %+v; its JSON %s re-parsed as %+v, %v", s, p, p.JSON(), back, err)
		}
	})
}

func FuzzParseMongo(f *testing.F) {
	for _, s := range []string{
		`{"resume_token":"` + token + `","cluster_time":{"t":1700000000,"i":3}}`,
		`{"resume_token":"{\"_data\":\"82\"}"}`, `{"cluster_time":{"t":1,"i":0}}`, `{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseMongo(s)
		if err != nil {
			return
		}
		back, err := ParseMongo(p.JSON())
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%s parsed as %+v; its JSON %s re-parsed as %+v, %v", s, p, p.JSON(), back, err)
		}
	})
}

func FuzzParseFrom(f *testing.F) {
	for _, s := range []string{
		"earliest", "latest", "gtid:0-1-2", "gtid:0-1-2, 1-2-3", "gtid:" + uuidA + ":1-5:t:7",
		"file:mysql-bin.000001:4", "file:a:b.1:77", "time:2026-01-02T15:04:05Z",
		"time:2026-01-02T15:04:05.123456789+05:30", "token:8263", `token:{"_data":"82"}`,
		`{"gtid":"0-1-5"}`, "gtid:", "file::", "time:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, err := ParseFrom(s)
		if err != nil {
			return
		}
		back, err := ParseFrom(from.String())
		if err != nil || !sameFrom(back, from) {
			t.Fatalf("%q parsed as %+v; its String %q re-parsed as %+v, %v", s, from, from.String(), back, err)
		}
	})
}
