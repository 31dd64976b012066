package consume

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/mapping"
)

// Error policies.
const (
	PolicyStop = "stop"
	PolicyDLQ  = "dlq"
)

// Config of a consumer.
type Config struct {
	// ClientOpts connect to the cluster (pkg/kafka.ClientOpts).
	ClientOpts []kgo.Opt
	Group      string
	// Topics are names, or regular expressions when TopicRegex is set.
	Topics     []string
	TopicRegex bool
	// Format is auto, maxwell or debezium.
	Format  string
	Mapping mapping.Config

	// A batch is written when it holds BatchRows rows or BatchBytes bytes
	// of record values, or Linger after its first record.
	BatchRows  int
	BatchBytes int
	Linger     time.Duration

	// OnError is stop (default) or dlq; DLQTopic receives failed records
	// under dlq.
	OnError  string
	DLQTopic string

	// SessionTimeout and RebalanceTimeout are the group's; zero keeps
	// franz-go's defaults (45s, 60s). A member that dies is noticed after
	// SessionTimeout, and its partitions wait that long.
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// TopicRefresh is how often metadata (and so the topics matching a
	// regex) is read again; zero keeps franz-go's default (5 minutes).
	TopicRefresh time.Duration

	// RetryMax bounds the backoff between retries of a batch the target
	// refused for a transient reason; retries continue until shutdown.
	RetryMax time.Duration

	Logger  *zap.Logger
	Metrics Metrics
	// Ready receives the state of each partition (nil: not reported).
	Ready Readiness
}

// Readiness is the part of obs.Readiness the consumer reports to.
type Readiness interface {
	Set(name string, err error)
	Remove(name string)
}

// Defaults.
const (
	DefaultBatchRows  = 5000
	DefaultBatchBytes = 8 << 20
	DefaultLinger     = 100 * time.Millisecond
	DefaultRetryMax   = 30 * time.Second
)

func (c *Config) setDefaults() {
	if c.Format == "" {
		c.Format = "auto"
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.OnError == "" {
		c.OnError = PolicyStop
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Metrics == nil {
		c.Metrics = NopMetrics{}
	}
	if c.Ready == nil {
		c.Ready = nopReady{}
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, errors.New("group is required"))
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("at least one topic is required"))
	}
	if c.TopicRegex {
		for _, t := range c.Topics {
			if _, err := regexp.Compile(t); err != nil {
				errs = append(errs, fmt.Errorf("topic pattern %q: %w", t, err))
			}
		}
	}
	if c.BatchRows < 1 || c.BatchBytes < 1 || c.Linger < 0 {
		errs = append(errs, fmt.Errorf("batch rows %d and bytes %d must be positive, linger %s not negative", c.BatchRows, c.BatchBytes, c.Linger))
	}
	switch c.OnError {
	case PolicyStop:
	case PolicyDLQ:
		if c.DLQTopic == "" {
			errs = append(errs, errors.New("on_error dlq needs a dlq_topic"))
		}
	default:
		errs = append(errs, fmt.Errorf("on_error %q: want stop or dlq", c.OnError))
	}
	if err := c.Mapping.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type nopReady struct{}

func (nopReady) Set(string, error) {}
func (nopReady) Remove(string)     {}
