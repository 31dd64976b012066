package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
	"github.com/sluice-cdc/sluice/pkg/obs"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// memSink is an in-memory target with the Sink contract's offset rules,
// for testing the consumer's Kafka logic on kfake. The SQL sinks have
// their own tests against real servers, and the end-to-end tests run the
// consumer on them.
type memSink struct {
	mu        sync.Mutex
	rows      map[string]string // key -> value of column v
	offsets   map[string]int64  // group/topic/partition -> next
	transient int               // fail this many Apply calls with a retryable error
	poison    string            // a row whose v equals this fails with a RowError
	// race, when set, runs once at the start of the next Apply: another
	// consumer committing in between.
	race  func(m *memSink)
	stale int // ErrStale returned
	// slow delays every Apply of a partition; versions tracks, per key,
	// the highest "v<n>" applied, and regressions counts older values
	// applied after newer ones (a G2 violation).
	slow        map[int32]time.Duration
	versions    map[string]int
	regressions int
}

func newMemSink() *memSink { return &memSink{rows: map[string]string{}, offsets: map[string]int64{}} }

func offKey(g, t string, p int32) string { return fmt.Sprintf("%s/%s/%d", g, t, p) }

func (m *memSink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	if d := m.slow[off.Partition]; d > 0 {
		time.Sleep(d)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.transient > 0 {
		m.transient--
		return sink.Transient(errors.New("connection reset (injected)"))
	}
	if m.race != nil {
		m.race(m)
		m.race = nil
	}
	k := offKey(off.Group, off.Topic, off.Partition)
	if cur, ok := m.offsets[k]; ok && cur > off.From {
		m.stale++
		return sink.ErrStale
	}
	staged := map[string]*string{}
	for i := range rows {
		r := &rows[i]
		key := fmt.Sprint(r.Values[r.Key[0]].I)
		if r.Op == event.OpDelete {
			staged[key] = nil
			continue
		}
		v := r.Values[1].S
		if m.poison != "" && v == m.poison {
			return &sink.RowError{Row: r, Column: "v", Value: v, Err: errors.New("value refused (injected)")}
		}
		staged[key] = &v
		if n, err := strconv.Atoi(strings.TrimPrefix(v, "v")); err == nil && m.versions != nil {
			if n < m.versions[key] {
				m.regressions++
			}
			m.versions[key] = max(m.versions[key], n)
		}
	}
	for key, v := range staged {
		if v == nil {
			delete(m.rows, key)
		} else {
			m.rows[key] = *v
		}
	}
	m.offsets[k] = off.Next
	return nil
}

func (m *memSink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32]int64{}
	for p := int32(0); p < 16; p++ {
		if o, ok := m.offsets[offKey(group, topic, p)]; ok {
			out[p] = o
		}
	}
	return out, nil
}

func (m *memSink) SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, o := range next {
		m.offsets[offKey(group, topic, p)] = o
	}
	return nil
}

func (m *memSink) Close() error { return nil }

func (m *memSink) offset(group, topic string, p int32) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.offsets[offKey(group, topic, p)]
	return o, ok
}

func (m *memSink) value(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.rows[key]
	return v, ok
}

var testCols = []event.Column{{Name: "id", Type: "bigint(20)", Kind: event.Int}, {Name: "v", Type: "varchar(20)", Kind: event.String}}

// record encodes a Maxwell-style change of row id to value v (op insert,
// or delete when v is empty) the way capture writes it.
func record(t *testing.T, topic string, p int32, id int64, v string) *kgo.Record {
	t.Helper()
	e := event.Event{Op: event.OpInsert, Database: "shop", Table: "t", Columns: testCols, Key: []int{0},
		After: []event.Value{event.IntValue(id), event.StringValue(v)}}
	if v == "" {
		e.Op, e.Before, e.After = event.OpDelete, e.After, nil
	}
	var enc maxwell.Encoder
	key, err := enc.AppendKey(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	val, err := enc.AppendValue(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Partition: p, Key: key, Value: val, Headers: []kgo.RecordHeader{
		{Key: format.HeaderFormat, Value: []byte(format.Maxwell)},
		{Key: format.HeaderTypes, Value: format.AppendTypes(nil, testCols)},
	}}
}

type fixture struct {
	t       *testing.T
	topic   string
	group   string
	client  *kgo.Client
	adm     *kadm.Client
	brokers []string
}

func newFixture(t *testing.T, partitions int32) *fixture {
	k := testenv.NewKfake(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	f := &fixture{t: t, topic: "sluice.shop.t", group: "g-" + testenv.UniqueName(t), client: cl, adm: kadm.NewClient(cl), brokers: k.Brokers()}
	if _, err := f.adm.CreateTopic(context.Background(), partitions, 1, nil, f.topic); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) produce(recs ...*kgo.Record) {
	f.t.Helper()
	if err := f.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		f.t.Fatal(err)
	}
}

// start runs a consumer until the test ends or the returned stop is called.
func (f *fixture) start(s sink.Sink, mod func(*Config)) (stop func() error) {
	cfg := Config{ClientOpts: []kgo.Opt{kgo.SeedBrokers(f.brokers...)}, Group: f.group, Topics: []string{f.topic},
		BatchRows: 10, Linger: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, s)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				runErr = errors.New("consumer did not stop within 20s")
			}
		})
		return runErr
	}
	f.t.Cleanup(func() { _ = stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fixture) committed() map[int32]int64 {
	f.t.Helper()
	resp, err := f.adm.FetchOffsets(context.Background(), f.group)
	if err != nil {
		return nil // the group does not exist yet
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
	return out
}

func TestAppliesThenCommits(t *testing.T) {
	f := newFixture(t, 2)
	var recs []*kgo.Record
	for i := range 50 {
		p := int32(i % 2)
		recs = append(recs, record(t, f.topic, p, int64(i), fmt.Sprint("v", i)))
	}
	recs = append(recs, record(t, f.topic, 0, 0, ""), record(t, f.topic, 1, 1, "changed"))
	f.produce(recs...)
	s := newMemSink()
	s.transient = 3 // the first batches hit a flaky target and are retried
	stop := f.start(s, nil)
	waitFor(t, "both partitions applied", func() bool {
		a, _ := s.offset(f.group, f.topic, 0)
		b, _ := s.offset(f.group, f.topic, 1)
		return a == 26 && b == 26
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.value("0"); ok {
		t.Error("row 0 was deleted at the source but is in the target")
	}
	if v, _ := s.value("1"); v != "changed" {
		t.Errorf("row 1 = %q, want the later change", v)
	}
	for i := 2; i < 50; i++ {
		if v, _ := s.value(fmt.Sprint(i)); v != fmt.Sprint("v", i) {
			t.Errorf("row %d = %q", i, v)
		}
	}
	if got := f.committed(); got[0] != 26 || got[1] != 26 {
		t.Errorf("Kafka committed %v, want 26 on both partitions", got)
	}
}

func TestResumesFromTargetOffsetWhenAhead(t *testing.T) {
	f := newFixture(t, 1)
	for i := range 10 {
		f.produce(record(t, f.topic, 0, int64(i), "v"))
	}
	s := newMemSink()
	// The target committed offsets 0-5 but the crash came before the Kafka
	// commit: apply must not write 0-5 again (they may be older than what
	// the target holds).
	_ = s.SetOffsets(context.Background(), f.group, f.topic, map[int32]int64{0: 6})
	f.start(s, nil)
	waitFor(t, "partition applied", func() bool { o, _ := s.offset(f.group, f.topic, 0); return o == 10 })
	for i := range 10 {
		_, ok := s.value(fmt.Sprint(i))
		if ok != (i >= 6) {
			t.Errorf("row %d present=%v; rows before the stored offset must not be rewritten", i, ok)
		}
	}
}

func TestStopPolicyStopsThePartitionAtTheBadRecord(t *testing.T) {
	f := newFixture(t, 2)
	good := func(p int32, id int64) *kgo.Record { return record(t, f.topic, p, id, "ok") }
	bad := &kgo.Record{Topic: f.topic, Partition: 0, Key: []byte(`{}`), Value: []byte(`{"database":"shop","table":"t","type":"insert","data":{"id":`)}
	f.produce(good(0, 1), good(0, 2), bad, good(0, 3), good(1, 10), good(1, 11))
	s := newMemSink()
	ready := obs.NewReadiness()
	f.start(s, func(c *Config) { c.Ready = ready })
	waitFor(t, "partition 1 applied", func() bool { o, _ := s.offset(f.group, f.topic, 1); return o == 2 })
	waitFor(t, "partition 0 stopped", func() bool { return !ready.Ready() })
	time.Sleep(200 * time.Millisecond) // give a wrong implementation time to go on
	if o, _ := s.offset(f.group, f.topic, 0); o != 2 {
		t.Fatalf("partition 0 stored offset %d, want 2 (the bad record's offset)", o)
	}
	if _, ok := s.value("3"); ok {
		t.Fatal("a record after the bad one was applied")
	}
	var msg string
	for _, c := range ready.Checks() {
		if c.Err != nil {
			msg = c.Err.Error()
		}
	}
	for _, want := range []string{f.topic + "/0", "offset 2", "decoding record"} {
		if !strings.Contains(msg, want) {
			t.Errorf("readiness error %q does not name %q", msg, want)
		}
	}
	if got := f.committed(); got[0] != 2 {
		t.Errorf("Kafka committed %d on partition 0, want 2", got[0])
	}
}

func TestDLQPolicyMovesBadRecordsAndContinues(t *testing.T) {
	f := newFixture(t, 1)
	dlq := "sluice.dlq"
	if _, err := f.adm.CreateTopic(context.Background(), 1, 1, nil, dlq); err != nil {
		t.Fatal(err)
	}
	malformed := &kgo.Record{Topic: f.topic, Partition: 0, Key: []byte(`k`), Value: []byte(`not json`),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}}}
	f.produce(record(t, f.topic, 0, 1, "ok"), malformed, record(t, f.topic, 0, 2, "poison"), record(t, f.topic, 0, 3, "ok"))
	s := newMemSink()
	s.poison = "poison"
	f.start(s, func(c *Config) { c.OnError, c.DLQTopic = PolicyDLQ, dlq })
	waitFor(t, "partition applied", func() bool { o, _ := s.offset(f.group, f.topic, 0); return o == 4 })
	if _, ok := s.value("2"); ok {
		t.Error("the refused row is in the target")
	}
	for _, k := range []string{"1", "3"} {
		if _, ok := s.value(k); !ok {
			t.Errorf("row %s lost", k)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < 2 && ctx.Err() == nil {
		got = append(got, cl.PollFetches(ctx).Records()...)
	}
	if len(got) != 2 {
		t.Fatalf("dead-letter topic has %d records, want 2", len(got))
	}
	h := func(r *kgo.Record, k string) string {
		for _, x := range r.Headers {
			if x.Key == k {
				return string(x.Value)
			}
		}
		return ""
	}
	if string(got[0].Value) != "not json" || h(got[0], "trace") != "abc" || h(got[0], HeaderDLQOffset) != "1" || !strings.Contains(h(got[0], HeaderDLQError), "decoding") {
		t.Errorf("first dead letter wrong: value %q headers %v", got[0].Value, got[0].Headers)
	}
	if h(got[1], HeaderDLQOffset) != "2" || !strings.Contains(h(got[1], HeaderDLQError), "value refused") {
		t.Errorf("second dead letter wrong: headers %v", got[1].Headers)
	}
}

func TestStaleBatchIsDroppedAndResumed(t *testing.T) {
	f := newFixture(t, 1)
	for i := range 20 {
		f.produce(record(t, f.topic, 0, int64(i%5), fmt.Sprint("v", i)))
	}
	s := newMemSink()
	stop := f.start(s, nil)
	waitFor(t, "applied", func() bool { o, _ := s.offset(f.group, f.topic, 0); return o == 20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Another member (one that took the partition over while this one was
	// still writing) applies 20-24 and commits them to the target just
	// before this consumer's batch: the batch must be refused, dropped, and
	// consumption resume at 25, or the older 20-24 would land after newer.
	s.race = func(m *memSink) {
		for i := 20; i < 25; i++ {
			m.rows[fmt.Sprint(i%5)] = fmt.Sprint("v", i)
		}
		m.offsets[offKey(f.group, f.topic, 0)] = 25
	}
	for i := 20; i < 30; i++ {
		f.produce(record(t, f.topic, 0, int64(i%5), fmt.Sprint("v", i)))
	}
	f.start(s, func(c *Config) { c.Linger = 200 * time.Millisecond })
	waitFor(t, "applied after resume", func() bool { o, _ := s.offset(f.group, f.topic, 0); return o == 30 })
	if s.stale == 0 {
		t.Fatal("the racing batch was not refused as stale")
	}
	for k := range 5 {
		if v, _ := s.value(fmt.Sprint(k)); v != fmt.Sprint("v", 25+k) {
			t.Errorf("row %d = %q, want v%d", k, v, 25+k)
		}
	}
}

func TestCatchesKafkaUpWithTheTarget(t *testing.T) {
	f := newFixture(t, 1)
	for i := range 4 {
		f.produce(record(t, f.topic, 0, int64(i), "v"))
	}
	s := newMemSink()
	// The target has everything; Kafka never got the commit (crash in
	// between) and nothing new arrives: Kafka must still catch up.
	_ = s.SetOffsets(context.Background(), f.group, f.topic, map[int32]int64{0: 4})
	f.start(s, nil)
	waitFor(t, "Kafka commit to catch up", func() bool { return f.committed()[0] == 4 })
}

// TestPartitionBarrierKeepsKeyOrder adds partitions under load: keys move
// from their old partition to a new one, and the old partition is slow.
// Without the barrier newer changes overtake older ones (the test shows
// it can fail); with it no key ever goes back to an older value.
func TestPartitionBarrierKeepsKeyOrder(t *testing.T) {
	for _, withBarrier := range []bool{false, true} {
		t.Run(fmt.Sprintf("barrier=%v", withBarrier), func(t *testing.T) {
			f := newFixture(t, 2)
			const keys = 40
			version := 0
			phase := func(parts int32, rounds int) {
				var recs []*kgo.Record
				for range rounds {
					version++
					for k := range keys {
						recs = append(recs, record(t, f.topic, int32(k)%parts, int64(k), fmt.Sprint("v", version)))
					}
				}
				// A new client: the old one's metadata predates the new partitions.
				cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			phase(2, 5)
			if _, err := f.adm.CreatePartitions(context.Background(), 2, f.topic); err != nil {
				t.Fatal(err)
			}
			if withBarrier {
				var bs []*kgo.Record
				for p := range int32(4) {
					bs = append(bs, &kgo.Record{Topic: f.topic, Partition: p, Value: []byte(`{"id":"b1","partitions":4}`),
						Headers: []kgo.RecordHeader{{Key: HeaderControl, Value: []byte(ControlBarrier)}}})
				}
				f.client.ForceMetadataRefresh()
				time.Sleep(100 * time.Millisecond)
				cl, _ := kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
				if err := cl.ProduceSync(context.Background(), bs...).FirstErr(); err != nil {
					t.Fatal(err)
				}
				cl.Close()
			}
			phase(4, 5)
			s := newMemSink()
			s.versions = map[string]int{}
			s.slow = map[int32]time.Duration{0: 150 * time.Millisecond, 1: 150 * time.Millisecond}
			f.start(s, func(c *Config) { c.BatchRows = 20 })
			waitFor(t, "every partition applied", func() bool {
				for p := range int32(4) {
					ends, _ := f.adm.ListEndOffsets(context.Background(), f.topic)
					end, _ := ends.Lookup(f.topic, p)
					if o, _ := s.offset(f.group, f.topic, p); o != end.Offset {
						return false
					}
				}
				return true
			})
			s.mu.Lock()
			defer s.mu.Unlock()
			for k := range keys {
				if v := s.rows[fmt.Sprint(k)]; v != fmt.Sprint("v", version) {
					if withBarrier {
						t.Errorf("key %d ended at %s, want v%d", k, v, version)
					}
				}
			}
			if withBarrier && s.regressions > 0 {
				t.Fatalf("%d changes applied after newer ones of the same key despite the barrier", s.regressions)
			}
			if !withBarrier && s.regressions == 0 {
				t.Fatal("without the barrier no key went back in time: the test cannot tell order violations")
			}
			t.Logf("barrier=%v: %d regressions", withBarrier, s.regressions)
		})
	}
}
