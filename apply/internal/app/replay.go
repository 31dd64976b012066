package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// Replay says where to move a group's offsets. Exactly one of Offset,
// Time and Earliest is set.
type Replay struct {
	Group     string
	Topic     string
	Partition int32 // -1: every partition
	Offset    int64 // used when HasOffset
	HasOffset bool
	Time      time.Time
	Earliest  bool
}

// ErrGroupActive is returned when the group still has members: moving
// offsets under a running consumer would be overwritten by its commits.
var ErrGroupActive = errors.New("the group has live members")

// RunReplay moves the group's offsets for the topic, in the target's
// sluice_offsets and in Kafka, while the group has no members. Apply
// resumes from the later of the two, so both move. The target is written
// first: a crash between the two steps leaves Kafka ahead, and running the
// replay again finishes it.
func RunReplay(ctx context.Context, cfg *Config, r Replay, log *zap.Logger) (map[int32]int64, error) {
	if r.Group == "" {
		r.Group = cfg.Group
	}
	n := 0
	for _, set := range []bool{r.HasOffset, !r.Time.IsZero(), r.Earliest} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("give exactly one of --offset, --time, --earliest")
	}
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	if err := CheckKafka(ctx, kopts); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	groups, err := adm.DescribeGroups(ctx, r.Group)
	if err != nil {
		return nil, fmt.Errorf("describing group %s: %w", r.Group, err)
	}
	if g, ok := groups[r.Group]; ok {
		if g.Err != nil {
			return nil, fmt.Errorf("describing group %s: %w", r.Group, g.Err)
		}
		if len(g.Members) > 0 {
			var names []string
			for _, m := range g.Members {
				names = append(names, fmt.Sprintf("%s (%s, %s)", m.MemberID, m.ClientID, m.ClientHost))
			}
			return nil, fmt.Errorf("%w: %s; stop every apply of group %s (e.g. scale the Deployment to 0) and run replay again",
				ErrGroupActive, strings.Join(names, ", "), r.Group)
		}
	}

	starts, err := adm.ListStartOffsets(ctx, r.Topic)
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", r.Topic, err)
	}
	if err := starts.Error(); err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", r.Topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, r.Topic)
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", r.Topic, err)
	}
	var byTime kadm.ListedOffsets
	if !r.Time.IsZero() {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, r.Time.UnixMilli(), r.Topic); err != nil {
			return nil, fmt.Errorf("finding offsets of %s at %s: %w", r.Topic, r.Time.Format(time.RFC3339), err)
		}
	}
	target := map[int32]int64{}
	var parts []int32
	starts.Each(func(o kadm.ListedOffset) { parts = append(parts, o.Partition) })
	slices.Sort(parts)
	if r.Partition >= 0 && !slices.Contains(parts, r.Partition) {
		return nil, fmt.Errorf("topic %s has no partition %d (it has %d)", r.Topic, r.Partition, len(parts))
	}
	for _, p := range parts {
		if r.Partition >= 0 && p != r.Partition {
			continue
		}
		start, _ := starts.Lookup(r.Topic, p)
		end, _ := ends.Lookup(r.Topic, p)
		switch {
		case r.Earliest:
			target[p] = start.Offset
		case r.HasOffset:
			if r.Offset < start.Offset || r.Offset > end.Offset {
				return nil, fmt.Errorf("offset %d is outside partition %d's range [%d, %d]", r.Offset, p, start.Offset, end.Offset)
			}
			target[p] = r.Offset
		default:
			o, _ := byTime.Lookup(r.Topic, p)
			target[p] = o.Offset
			if o.Offset < 0 { // no record at or after the time
				target[p] = end.Offset
			}
		}
	}
	if len(target) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions (does it exist?)", r.Topic)
	}

	sk, err := OpenSink(ctx, cfg.Target, log, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to the %s target: %w", cfg.Target.Kind, err)
	}
	defer sk.Close()
	if err := sk.SetOffsets(ctx, r.Group, r.Topic, target); err != nil {
		return nil, fmt.Errorf("setting the target's stored offsets: %w", err)
	}
	commit := kadm.Offsets{}
	for p, o := range target {
		commit.Add(kadm.Offset{Topic: r.Topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, r.Group, commit)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("committing offsets of group %s (the target already has them; run replay again): %w", r.Group, err)
	}
	for p, o := range target {
		log.Info("offset replayed", obs.Group(r.Group), obs.Topic(r.Topic), obs.Partition(p), obs.Offset(o))
	}
	return target, nil
}
