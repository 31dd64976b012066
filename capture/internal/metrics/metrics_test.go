package metrics

import (
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// sample is one gathered series: name{labels} -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

func newTest(t *testing.T) (*Capture, *prometheus.Registry, *time.Time) {
	reg := prometheus.NewRegistry()
	now := time.Unix(1_800_000_000, 0)
	commits := 0
	m := New(reg, "shop", func() { commits++ })
	m.now = func() time.Time { return now }
	t.Cleanup(func() {
		if got := gather(t, reg)["sluice_capture_transactions_total{capture=shop}"]; got != float64(commits) {
			t.Errorf("onCommit ran %d times, transactions_total is %v", commits, got)
		}
	})
	return m, reg, &now
}

func expect(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("no series %s in %v", k, sortedKeys(got))
		case g != v:
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestCountersAndZeroErrors(t *testing.T) {
	m, reg, _ := newTest(t)
	m.Events("shop", "orders", event.OpInsert, 3)
	m.Events("shop", "orders", event.OpInsert, 2)
	m.Events("shop", "users", event.OpDelete, 1)
	m.Committed(0)
	m.Error("produce")
	got := gather(t, reg)
	expect(t, got, map[string]float64{
		"sluice_capture_events_total{capture=shop,op=insert,table=shop.orders}": 5,
		"sluice_capture_events_total{capture=shop,op=delete,table=shop.users}":  1,
		"sluice_capture_transactions_total{capture=shop}":                       1,
		"sluice_capture_errors_total{capture=shop,kind=produce}":                1,
		"sluice_capture_errors_total{capture=shop,kind=fenced}":                 0,
		"sluice_capture_errors_total{capture=shop,kind=source_interrupted}":     0,
		// A commit without a source time (none known yet) leaves the lag unknown.
		"sluice_capture_source_lag_seconds{capture=shop}": -1,
	})
	if _, ok := got["sluice_capture_binlog_retention_seconds{capture=shop}"]; ok {
		t.Error("retention exported before it is known")
	}
}

// TestLagFollowsHeartbeatsOnceCommitted: a heartbeat's time counts for the
// lag only when everything read before it is committed.
func TestLagFollowsHeartbeatsOnceCommitted(t *testing.T) {
	m, reg, now := newTest(t)
	lag := func() float64 { return gather(t, reg)["sluice_capture_source_lag_seconds{capture=shop}"] }
	if got := lag(); got != -1 {
		t.Fatalf("lag before anything = %v, want -1", got)
	}
	t0 := now.Add(-100 * time.Second).UnixMilli()
	m.Read(`{"file":"b.000001","pos":100}`, t0, false)
	m.Committed(t0)
	if got := lag(); got != 100 {
		t.Fatalf("lag after commit = %v, want 100", got)
	}
	// A newer transaction is read but not committed yet; a heartbeat after
	// it must not hide the uncommitted transaction.
	t1 := now.Add(-50 * time.Second).UnixMilli()
	m.Read(`{"file":"b.000001","pos":200}`, t1, false)
	m.Read(`{"file":"b.000001","pos":200}`, now.Add(-time.Second).UnixMilli(), true)
	if got := lag(); got != 100 {
		t.Fatalf("lag with an uncommitted transaction before the heartbeat = %v, want 100", got)
	}
	m.Committed(t1)
	if got := lag(); got != 1 {
		t.Fatalf("lag once the transaction is committed = %v, want 1 (the heartbeat's)", got)
	}
	// A quiet source right after a restart: no commit in this process, only
	// heartbeats.
	m2, reg2, now2 := newTest(t)
	m2.Read(`{"gtid":"0-1-5"}`, now2.Add(-2*time.Second).UnixMilli(), true)
	if got := gather(t, reg2)["sluice_capture_source_lag_seconds{capture=shop}"]; got != 2 {
		t.Fatalf("quiet source after restart: lag = %v, want 2", got)
	}
}

func TestPositionAndPurge(t *testing.T) {
	m, reg, now := newTest(t)
	m.SetRetention(time.Hour)
	m.Read(`{"gtid":"0-1-100,1-2-5","file":"mariadb-bin.000042","pos":1234,"server_id":1,"flavor":"mariadb"}`, now.Add(-10*time.Minute).UnixMilli(), false)
	m.Committed(now.Add(-10 * time.Minute).UnixMilli())
	expect(t, gather(t, reg), map[string]float64{
		"sluice_capture_binlog_file_index{capture=shop}":                                                       42,
		"sluice_capture_binlog_file_offset_bytes{capture=shop}":                                                1234,
		"sluice_capture_binlog_position_info{capture=shop,file=mariadb-bin.000042,flavor=mariadb,server_id=1}": 1,
		"sluice_capture_gtid_sequence{capture=shop,domain=0}":                                                  100,
		"sluice_capture_gtid_sequence{capture=shop,domain=1}":                                                  5,
		"sluice_capture_binlog_retention_seconds{capture=shop}":                                                3600,
		"sluice_capture_time_to_purge_seconds{capture=shop}":                                                   3000,
		"sluice_capture_source_lag_seconds{capture=shop}":                                                      600,
	})
	m.SetRetention(0) // never expires: no estimate
	if _, ok := gather(t, reg)["sluice_capture_time_to_purge_seconds{capture=shop}"]; ok {
		t.Error("time to purge exported although binlogs never expire")
	}
}

func TestGTIDSequences(t *testing.T) {
	for _, tc := range []struct {
		set  string
		want map[string]uint64
	}{
		{"", map[string]uint64{}},
		{"0-1-100", map[string]uint64{"0": 100}},
		{"3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9, 3E11FA47-71CA-11E1-9E33-C80AA9429563:4",
			map[string]uint64{"3E11FA47-71CA-11E1-9E33-C80AA9429562": 9, "3E11FA47-71CA-11E1-9E33-C80AA9429563": 4}},
		{"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3:blue:1-20", map[string]uint64{
			"3e11fa47-71ca-11e1-9e33-c80aa9429562": 3, "3e11fa47-71ca-11e1-9e33-c80aa9429562:blue": 20}},
		{"garbage,1-2", map[string]uint64{}},
	} {
		got := gtidSequences(tc.set)
		if !maps.Equal(got, tc.want) {
			t.Errorf("gtidSequences(%q) = %v, want %v", tc.set, got, tc.want)
		}
	}
}
