package metrics

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-cdc/sluice/pkg/position"
)

// Derived series, computed at scrape time so that recording a position
// on the hot path is one store, not a parse.
var (
	lagDesc = prometheus.NewDesc("sluice_capture_source_lag_seconds",
		"Now minus the source time capture has committed up to: the last committed position's, or a later heartbeat's once everything before it is committed, so it stays true on a quiet source. -1 before anything is known.",
		nil, nil)
	committedSourceDesc = prometheus.NewDesc("sluice_capture_last_committed_source_timestamp_seconds",
		"Source time of the last committed position (binlog event time, or heartbeat time), Unix seconds; 0 before the first commit.",
		nil, nil)
	lastCommitDesc = prometheus.NewDesc("sluice_capture_last_commit_timestamp_seconds",
		"When capture last committed to Kafka, Unix seconds; 0 before the first commit.",
		nil, nil)
	retentionDesc = prometheus.NewDesc("sluice_capture_binlog_retention_seconds",
		"How long the source server keeps binlogs (binlog_expire_logs_seconds, or expire_logs_days); 0: they never expire automatically. Read at startup.",
		nil, nil)
	purgeDesc = prometheus.NewDesc("sluice_capture_time_to_purge_seconds",
		"Estimate of how long until the binlog at capture's position is purged: retention minus source lag, floored at 0. "+
			"Only present when binlogs expire. At 0 the position may be gone, and resuming needs a re-snapshot.",
		nil, nil)
	fileIndexDesc = prometheus.NewDesc("sluice_capture_binlog_file_index",
		"Number of the binlog file (the digits after the last dot, mariadb-bin.000042 -> 42) of the last position read from the source.",
		nil, nil)
	fileOffsetDesc = prometheus.NewDesc("sluice_capture_binlog_file_offset_bytes",
		"Offset in that binlog file just after the last transaction read from the source.",
		nil, nil)
	positionInfoDesc = prometheus.NewDesc("sluice_capture_binlog_position_info",
		"Always 1; the labels name the binlog file and the server of the last position read (the file label changes only when the binlog rotates).",
		[]string{"file", "server_id", "flavor"}, nil)
	gtidDesc = prometheus.NewDesc("sluice_capture_gtid_sequence",
		"Highest GTID sequence number of the last position read, per MariaDB GTID domain or MySQL source UUID.",
		[]string{"domain"}, nil)
)

// collector exports the derived series of a Capture.
type collector struct{ m *Capture }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lagDesc, committedSourceDesc, lastCommitDesc, retentionDesc, purgeDesc,
		fileIndexDesc, fileOffsetDesc, positionInfoDesc, gtidDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	lag, lagKnown := m.Lag()
	if lagKnown {
		gauge(lagDesc, lag.Seconds())
	} else {
		gauge(lagDesc, -1)
	}
	gauge(committedSourceDesc, float64(m.committedMs.Load())/1000)
	gauge(lastCommitDesc, float64(m.lastCommitMs.Load())/1000)
	if ret := m.retentionSec.Load(); ret >= 0 {
		gauge(retentionDesc, float64(ret))
		if ret > 0 && lagKnown {
			gauge(purgeDesc, max(float64(ret)-lag.Seconds(), 0))
		}
	}
	text := m.Position()
	if text == "" {
		return
	}
	p, err := position.ParseMySQL(text)
	if err != nil {
		return // not a MySQL position: nothing binlog-shaped to show
	}
	if p.File != "" {
		if n, ok := fileIndex(p.File); ok {
			gauge(fileIndexDesc, float64(n))
		}
		gauge(fileOffsetDesc, float64(p.Pos))
		gauge(positionInfoDesc, 1, p.File, strconv.FormatUint(uint64(p.ServerID), 10), p.Flavor)
	}
	for domain, seq := range gtidSequences(p.GTIDSet) {
		gauge(gtidDesc, float64(seq), domain)
	}
}

// fileIndex is the number after the last dot of a binlog file name.
func fileIndex(file string) (uint64, bool) {
	i := strings.LastIndexByte(file, '.')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(file[i+1:], 10, 64)
	return n, err == nil
}

// gtidSequences reads the highest sequence number per domain of a GTID
// set: MariaDB "domain-server-seq,..." (keyed by domain id) or MySQL
// "uuid[:tag]:a-b:c,..." (keyed by uuid, or uuid:tag). Malformed elements
// are skipped: this is for display, the reader validated the set.
func gtidSequences(set string) map[string]uint64 {
	out := map[string]uint64{}
	for _, el := range strings.Split(set, ",") {
		el = strings.TrimSpace(el)
		if el == "" {
			continue
		}
		if !strings.Contains(el, ":") {
			parts := strings.Split(el, "-")
			if len(parts) != 3 {
				continue
			}
			seq, err := strconv.ParseUint(parts[2], 10, 64)
			if err == nil && seq > out[parts[0]] {
				out[parts[0]] = seq
			}
			continue
		}
		parts := strings.Split(el, ":")
		key := parts[0]
		for _, iv := range parts[1:] {
			end := iv
			if j := strings.IndexByte(iv, '-'); j >= 0 {
				end = iv[j+1:]
			}
			n, err := strconv.ParseUint(end, 10, 64)
			if err != nil {
				key = parts[0] + ":" + iv // a tag (MySQL 8.4): its intervals follow
				continue
			}
			if n > out[key] {
				out[key] = n
			}
		}
	}
	return out
}
