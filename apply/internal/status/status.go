// Package status gathers a one-screen view of an apply group: for each
// topic partition the Kafka committed offset, the end offset, the offset
// the target stores with its rows (sluice_offsets), the lag, which member
// holds it, and whether the running service reports it stopped.
//
// Apply resumes a partition from the later of the Kafka commit and the
// target's stored offset (the target's is written in the same transaction
// as the rows, the commit after it), so the lag shown is the end offset
// minus that later position. Every source is optional: an unreachable
// target or /readyz is an entry in Errors, not a failure, so the command
// still shows what it can while something is down.
package status

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/app"
	"github.com/sluice-cdc/sluice/pkg/kafka"
)

// Partition is the state of one topic partition. Offsets are -1 when
// unknown (nothing committed or stored yet).
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	Stored    int64  `json:"stored"`
	End       int64  `json:"end"`
	// Lag is End minus the later of Committed and Stored (End when
	// neither is known: the group starts from its configured reset).
	Lag    int64  `json:"lag"`
	Member string `json:"member,omitempty"`
	// Stopped is the reason /readyz gives for a partition stopped by a
	// record it cannot apply; empty when running or unknown.
	Stopped string `json:"stopped,omitempty"`
}

// Member is one consumer of the group.
type Member struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	Host   string `json:"host"`
	// Partitions assigned, as topic/partition.
	Partitions []string `json:"partitions"`
}

// Ready is what the service's /readyz said.
type Ready struct {
	URL   string `json:"url"`
	Ready bool   `json:"ready"`
	// Failing are the failing checks, one "name: reason" each.
	Failing []string `json:"failing,omitempty"`
}

// Report is the group's status.
type Report struct {
	Group      string      `json:"group"`
	State      string      `json:"state"`
	Target     string      `json:"target"`
	Members    []Member    `json:"members"`
	Partitions []Partition `json:"partitions"`
	TotalLag   int64       `json:"total_lag"`
	Ready      *Ready      `json:"readyz,omitempty"`
	// Errors are the parts that could not be read (target, /readyz).
	Errors []string `json:"errors,omitempty"`
}

// Options are the parts of a status call that are not in the config.
type Options struct {
	// URL is the service's metrics/health address (http://host:9090);
	// empty: /readyz is not asked.
	URL string
	// Log is passed to the target sink (default: none).
	Log *zap.Logger
}

// Collect reads the group's status from Kafka, the target and
// optionally /readyz.
func Collect(ctx context.Context, cfg *app.Config, o Options) (*Report, error) {
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	if err := app.CheckKafka(ctx, kopts); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rep := &Report{Group: cfg.Group, Target: cfg.Target.Kind}

	groups, err := adm.DescribeGroups(ctx, cfg.Group)
	if err != nil {
		return nil, fmt.Errorf("describing group %s: %w", cfg.Group, err)
	}
	owner := map[string]string{}
	if g, ok := groups[cfg.Group]; ok && g.Err == nil {
		rep.State = g.State
		for _, m := range g.Members {
			mem := Member{ID: m.MemberID, Client: m.ClientID, Host: m.ClientHost}
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range c.Topics {
					for _, p := range t.Partitions {
						tp := t.Topic + "/" + strconv.Itoa(int(p))
						mem.Partitions = append(mem.Partitions, tp)
						owner[tp] = m.ClientID + "@" + strings.TrimPrefix(m.ClientHost, "/")
					}
				}
			}
			slices.Sort(mem.Partitions)
			rep.Members = append(rep.Members, mem)
		}
	} else if ok && g.Err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("describing group: %v", g.Err))
	}
	committed, err := adm.FetchOffsets(ctx, cfg.Group)
	if err != nil {
		return nil, fmt.Errorf("fetching the committed offsets of %s: %w", cfg.Group, err)
	}
	topics, err := topicsOf(ctx, adm, cfg)
	if err != nil {
		return nil, err
	}
	for t := range committed {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	slices.Sort(topics)
	if len(topics) == 0 {
		return rep, nil
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}

	stored := map[string]map[int32]int64{}
	if sk, err := app.OpenSink(ctx, cfg.Target, log, nil); err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("target %s: %v", cfg.Target.Kind, err))
	} else {
		for _, t := range topics {
			offs, err := sk.Offsets(ctx, cfg.Group, t)
			if err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("target offsets of %s: %v", t, err))
				continue
			}
			stored[t] = offs
		}
		sk.Close()
	}

	stopped := map[string]string{}
	if o.URL != "" {
		r, err := readyz(ctx, o.URL)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("readyz: %v", err))
		} else {
			rep.Ready = r
			for _, line := range r.Failing {
				if m := stoppedLine.FindStringSubmatch(line); m != nil {
					stopped[m[1]] = m[2]
				}
			}
		}
	}

	ends.Each(func(o kadm.ListedOffset) {
		p := Partition{Topic: o.Topic, Partition: o.Partition, Committed: -1, Stored: -1, End: o.Offset}
		if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.Err == nil {
			p.Committed = c.At
		}
		if s, ok := stored[o.Topic][o.Partition]; ok {
			p.Stored = s
		}
		pos := max(p.Committed, p.Stored)
		p.Lag = p.End - max(pos, 0)
		if p.Lag < 0 {
			p.Lag = 0
		}
		tp := o.Topic + "/" + strconv.Itoa(int(o.Partition))
		p.Member, p.Stopped = owner[tp], stopped[tp]
		if o.Err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("end offset of %s: %v", tp, o.Err))
		}
		rep.Partitions = append(rep.Partitions, p)
		rep.TotalLag += p.Lag
	})
	slices.SortFunc(rep.Partitions, func(a, b Partition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return rep, nil
}

// topicsOf lists the configured topics; patterns (topic_regex) are
// matched against the cluster's topics.
func topicsOf(ctx context.Context, adm *kadm.Client, cfg *app.Config) ([]string, error) {
	if !cfg.TopicRegex {
		return slices.Clone(cfg.Topics), nil
	}
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	var out []string
	for _, name := range all.Names() {
		for _, pat := range cfg.Topics {
			if re, err := regexp.Compile("^(?:" + pat + ")$"); err == nil && re.MatchString(name) {
				out = append(out, name)
				break
			}
		}
	}
	return out, nil
}

// stoppedLine is a /readyz line of a stopped partition worker:
// "partition TOPIC/P: partition TOPIC/P stopped at offset N: reason".
var stoppedLine = regexp.MustCompile(`^partition (\S+/\d+): (.*)$`)

func readyz(ctx context.Context, base string) (*Ready, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := strings.TrimSuffix(base, "/") + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	r := &Ready{URL: u, Ready: resp.StatusCode == http.StatusOK}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		if line == "" || line == "ready" || line == "not ready" {
			continue
		}
		r.Failing = append(r.Failing, line)
	}
	return r, nil
}
