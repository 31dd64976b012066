package consume

import (
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// skipMetrics records Skipped calls.
type skipMetrics struct {
	NopMetrics
	mu      sync.Mutex
	skipped map[string]int
}

func (m *skipMetrics) Skipped(topic, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skipped[topic+"/"+reason]++
}

func (m *skipMetrics) count(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skipped[key]
}

// TestSkipsMaxwellDDLRecords: a DDL record genuine Maxwell writes to the
// row topic (output_ddl=true) does not stop the partition: it is counted
// as skipped with reason "ddl", logged at info with its position, and the
// rows after it are applied.
func TestSkipsMaxwellDDLRecords(t *testing.T) {
	f := newFixture(t, 1)
	ddl := &kgo.Record{Topic: f.topic, Key: []byte("5b2a6a4e-0c1f-4d1e-9d3a-1f2e3d4c5b6a"), Value: []byte(
		`{"type":"table-alter","database":"shop","table":"t","old":{"columns":[]},"def":{"columns":[]},` +
			`"ts":1714566925000,"sql":"ALTER TABLE t ADD note TEXT","position":"b.000003:6300"}`)}
	f.produce(record(t, f.topic, 0, 1, "before"), ddl, record(t, f.topic, 0, 2, "after"))
	s := newMemSink()
	m := &skipMetrics{skipped: map[string]int{}}
	core, logs := observer.New(zapcore.InfoLevel)
	stop := f.start(s, func(c *Config) { c.Metrics, c.Logger = m, zap.New(core) })
	waitFor(t, "all three records applied", func() bool {
		n, _ := s.offset(f.group, f.topic, 0)
		return n == 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.value("2"); v != "after" {
		t.Errorf("row 2, after the DDL record, = %q", v)
	}
	if n := m.count(f.topic + "/ddl"); n != 1 {
		t.Errorf("skipped{reason=ddl} = %d, want 1", n)
	}
	found := logs.FilterMessageSnippet("DDL record").All()
	if len(found) != 1 || found[0].Level != zapcore.InfoLevel {
		t.Fatalf("want one info line about the DDL record, got %v", found)
	}
	ctx := found[0].ContextMap()
	if fmt.Sprint(ctx["topic"], "/", ctx["partition"], "@", ctx["offset"]) != f.topic+"/0@1" {
		t.Errorf("log fields %v, want topic %s partition 0 offset 1", ctx, f.topic)
	}
}
