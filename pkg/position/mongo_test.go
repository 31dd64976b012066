package position

import (
	"reflect"
	"strings"
	"testing"
)

const token = "8265A1B2C3000000012B022C0100296E5A1004"

func TestMongoJSON(t *testing.T) {
	tests := []struct {
		p    Mongo
		json string
		str  string
	}{
		{
			Mongo{ResumeToken: token, ClusterTime: ClusterTime{T: 1700000000, I: 3}},
			`{"resume_token":"` + token + `","cluster_time":{"t":1700000000,"i":3}}`,
			"resume token " + token + " at cluster time 1700000000.3 (2023-11-14T22:13:20Z)",
		},
		{Mongo{ResumeToken: token}, `{"resume_token":"` + token + `"}`, "resume token " + token},
		{Mongo{ClusterTime: ClusterTime{T: 1700000000}}, `{"cluster_time":{"t":1700000000,"i":0}}`, "cluster time 1700000000.0 (2023-11-14T22:13:20Z)"},
		{Mongo{ClusterTime: ClusterTime{T: 5, I: 1}, Streams: map[string]Mongo{"d.a": {ResumeToken: token}, "d.b": {ClusterTime: ClusterTime{T: 4}}}},
			`{"cluster_time":{"t":5,"i":1},"streams":{"d.a":{"resume_token":"` + token + `"},"d.b":{"cluster_time":{"t":4,"i":0}}}}`, ""},
		{Mongo{ResumeToken: `{"_data":{"$binary":{"base64":"gmU=","subType":"00"}}}`},
			`{"resume_token":"{\"_data\":{\"$binary\":{\"base64\":\"gmU=\",\"subType\":\"00\"}}}"}`, ""},
	}
	for _, tt := range tests {
		if got := tt.p.JSON(); got != tt.json {
			t.Errorf("JSON = %s\nwant   %s", got, tt.json)
		}
		if got := tt.p.String(); tt.str != "" && got != tt.str {
			t.Errorf("String = %q, want %q", got, tt.str)
		}
		back, err := ParseMongo(tt.json)
		if err != nil || !reflect.DeepEqual(back, tt.p) {
			t.Errorf("ParseMongo(%s) = %+v, %v", tt.json, back, err)
		}
	}
}

func TestParseMongoRejects(t *testing.T) {
	tests := []struct{ in, err string }{
		{`{}`, "neither a resume token nor a cluster time"},
		{`{"resume_token":"xyz"}`, `resume token "xyz"`},
		{`{"resume_token":"abc"}`, "even number"},
		{`{"resume_token":"{nope"}`, "not a JSON document"},
		{`{"cluster_time":{"t":0,"i":5}}`, "increment 5 but no seconds"},
		{`{"cluster_time":{"t":-1,"i":0}}`, "cluster_time"},
		{`{"cluster_time":{"t":1,"i":0,"x":1}}`, "unknown"},
		{`{"resume_token":"82","gtid":"0-1-1"}`, "unknown"},
		{`{"resume_token":"82","streams":{"d.a":{"resume_token":"82"}}}`, "both"},
		{`{"streams":{"d.a":{"streams":{"d.b":{"resume_token":"82"}}}}}`, "nested"},
		{`{"streams":{"d.a":{}}}`, "neither"},
	}
	for _, tt := range tests {
		_, err := ParseMongo(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseMongo(%s) = %v, want error containing %q", tt.in, err, tt.err)
		}
	}
}
