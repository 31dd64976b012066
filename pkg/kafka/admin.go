package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// EnsureResult says what EnsureTopic found or did.
type EnsureResult struct {
	Topic string
	// Created is true when this call created the topic.
	Created bool
	// Partitions is the topic's partition count now.
	Partitions int
	// Note is set when the existing topic differs from what was asked in a
	// way the caller should log at WARN (fewer partitions than configured).
	// The topic is left as it is either way.
	Note string
}

// TopicConfigs builds the topic configs capture sets on the topics it
// creates: compression.type (e.g. "zstd" or "lz4"; "" leaves the broker
// default), min.insync.replicas (0 leaves the broker default), then extra,
// which wins on conflicts.
func TopicConfigs(compression string, minInsyncReplicas int, extra map[string]string) map[string]*string {
	c := map[string]*string{}
	if compression != "" {
		c["compression.type"] = kadm.StringPtr(compression)
	}
	if minInsyncReplicas > 0 {
		c["min.insync.replicas"] = kadm.StringPtr(strconv.Itoa(minInsyncReplicas))
	}
	for k, v := range extra {
		c[k] = kadm.StringPtr(v)
	}
	return c
}

// EnsureTopic creates topic name with the given partition count,
// replication factor (-1 for either means the broker default) and configs,
// and returns once every partition has a leader, so producing to it right
// away works. A topic that already exists is success and is never changed:
// with fewer partitions than asked, Note says so, because raising the count
// moves keys between partitions and is left to an explicit admin command
// (DESIGN §8).
func EnsureTopic(ctx context.Context, adm *kadm.Client, name string, partitions int32, rf int16, configs map[string]*string) (EnsureResult, error) {
	res := EnsureResult{Topic: name}
	resp, err := adm.CreateTopic(ctx, partitions, rf, configs, name)
	switch {
	case err == nil:
		res.Created = true
	case errors.Is(err, kerr.TopicAlreadyExists):
	default:
		msg := ""
		if resp.ErrMessage != "" {
			msg = " (" + resp.ErrMessage + ")"
		}
		return res, fmt.Errorf("creating topic %s with %d partitions, replication factor %d, configs %s: %w%s",
			name, partitions, rf, formatConfigs(configs), err, msg)
	}
	n, err := waitLeaders(ctx, adm, name)
	if err != nil {
		return res, err
	}
	res.Partitions = n
	if !res.Created && partitions > 0 && n < int(partitions) {
		res.Note = fmt.Sprintf("topic %s exists with %d partitions, fewer than the configured %d; it is left unchanged (adding partitions is an explicit admin step)", name, n, partitions)
	}
	return res, nil
}

// EnsureCompactedTopic ensures the single-partition compacted topic that
// holds capture positions. An existing topic must be compacted: with
// cleanup.policy=delete the last position of a quiet capture would expire
// with the retention, and the capture would restart from scratch.
func EnsureCompactedTopic(ctx context.Context, adm *kadm.Client, name string, rf int16, configs map[string]*string) (EnsureResult, error) {
	c := maps.Clone(configs)
	if c == nil {
		c = map[string]*string{}
	}
	c["cleanup.policy"] = kadm.StringPtr("compact")
	res, err := EnsureTopic(ctx, adm, name, 1, rf, c)
	if err != nil || res.Created {
		return res, err
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, name)
	if err != nil {
		return res, fmt.Errorf("describing configs of topic %s: %w", name, err)
	}
	rc, err := rcs.On(name, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return res, fmt.Errorf("describing configs of topic %s: %w", name, err)
	}
	for _, cfg := range rc.Configs {
		if cfg.Key == "cleanup.policy" && !slices.Contains(strings.Split(cfg.MaybeValue(), ","), "compact") {
			return res, fmt.Errorf("topic %s exists with cleanup.policy=%s; the positions topic must be compacted (cleanup.policy=compact), or stored positions expire with the retention", name, cfg.MaybeValue())
		}
	}
	return res, nil
}

// waitLeaders polls the topic's metadata until every partition has a
// leader, for at most 30s; a new topic takes a moment to get them.
func waitLeaders(ctx context.Context, adm *kadm.Client, name string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// kadm serves metadata from the client's cache (up to MetadataMinAge,
	// 5s by default, old), which may predate the topic; asking for the
	// authorized operations is kadm's way of sending a fresh request.
	ctx = kadm.WithAuthorizedOps(ctx)
	backoff := 20 * time.Millisecond
	for {
		var why error
		tds, err := adm.ListTopics(ctx, name)
		if err != nil {
			why = err
		} else if td, ok := tds[name]; !ok {
			why = kerr.UnknownTopicOrPartition
		} else if td.Err != nil {
			why = td.Err
		} else if len(td.Partitions) == 0 {
			why = errors.New("no partitions in metadata yet")
		} else {
			for _, p := range td.Partitions {
				if p.Leader < 0 || p.Err != nil {
					why = fmt.Errorf("partition %d has no leader yet (%v)", p.Partition, p.Err)
					break
				}
			}
			if why == nil {
				return len(td.Partitions), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for topic %s to have partition leaders: %w (last: %v)", name, ctx.Err(), why)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

func formatConfigs(c map[string]*string) string {
	keys := slices.Sorted(maps.Keys(c))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := "<default>"
		if c[k] != nil {
			v = *c[k]
		}
		parts = append(parts, k+"="+v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
