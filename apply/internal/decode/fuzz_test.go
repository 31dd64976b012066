package decode

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// FuzzDecode feeds arbitrary keys and values through auto detection: any
// input must give an event, a skip or an error, never a panic, and an
// event must have a key that indexes its columns.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"database":"d","table":"t","pk.id":1}`), []byte(`{"database":"d","table":"t","type":"insert","ts":1,"data":{"id":1,"v":"x"}}`))
	f.Add([]byte(`{"id":1}`), []byte(`{"before":null,"after":{"id":1},"source":{"db":"d","table":"t"},"op":"c","ts_ms":1}`))
	f.Add([]byte(`{"id":1}`), []byte(`{"schema":{"type":"struct"},"payload":{"op":"d","before":{"id":1},"after":null,"source":{"db":"d","table":"t"}}}`))
	f.Add([]byte(nil), []byte(`{"a":1}`))
	f.Add([]byte(`5b2a6a4e-0c1f-4d1e-9d3a-1f2e3d4c5b6a`), []byte(`{"database":"d","table":"t","old":{"columns":[]},"type":"table-alter","ts":1,"sql":"ALTER TABLE t ADD c INT"}`))
	f.Add([]byte(`{"database":"d","table":"t","pk.id":1}`), []byte(`{"database":"d","table":"t","type":"insert","ts":1,"data":{"id":1,"tags":["a","b"],"doc":{"k":[]}}}`))
	f.Add([]byte(`{"id":"{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}"}`), []byte(`{"before":null,"after":"{\"_id\":{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"},\"n\":1}","updateDescription":null,"source":{"connector":"mongodb","db":"d","collection":"c"},"op":"c","ts_ms":1}`))
	f.Add([]byte(nil), []byte(`{"operationType":"update","ns":{"db":"d","coll":"c"},"documentKey":{"_id":1},"updateDescription":{"updatedFields":{"a.b":2},"removedFields":["x"],"truncatedArrays":[{"field":"arr","newSize":1}]}}`))
	f.Add([]byte(nil), []byte(`{"operationType":"delete","ns":{"db":"d","coll":"c"},"documentKey":{"_id":{"$numberLong":"1"}}}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		d, _ := New(Auto)
		var e event.Event
		skip, err := d.Decode(&kgo.Record{Key: key, Value: value}, &e)
		if err != nil || skip != "" {
			return
		}
		for _, k := range e.Key {
			if k < 0 || k >= len(e.Columns) {
				t.Fatalf("key index %d outside %d columns", k, len(e.Columns))
			}
		}
	})
}
