package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka is what an integration test needs of a broker, real or in-memory:
// an address to give franz-go. Tests written against it run on either
// (SLUICE_TEST_KAFKA).
type Kafka interface {
	Brokers() []string
	// Kind is "real" or "kfake".
	Kind() string
}

// Fake is an in-memory kfake cluster: transactions, consumer groups,
// CreatePartitions and compaction, no process to kill.
type Fake struct{ c *kfake.Cluster }

// Brokers returns the fake cluster's addresses.
func (f *Fake) Brokers() []string { return f.c.ListenAddrs() }

// Kind returns "kfake".
func (f *Fake) Kind() string { return "kfake" }

// Cluster exposes the kfake cluster for fault injection (ControlKey etc.).
func (f *Fake) Cluster() *kfake.Cluster { return f.c }

// newFake starts a kfake cluster shaped like the real test broker: one
// broker and no topic auto-creation (capture creates its topics). opts
// come after the defaults, so kfake.AllowAutoTopicCreation() etc. apply.
func newFake(opts ...kfake.Opt) (*Fake, error) {
	opts = append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting kfake: %w", err)
	}
	return &Fake{c: c}, nil
}

// NewKfake starts an in-memory kfake cluster for a fast unit test, closed
// when the test ends.
func NewKfake(tb testing.TB, opts ...kfake.Opt) *Fake {
	tb.Helper()
	f, err := newFake(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.c.Close)
	return f
}

// KafkaMode is the harness switch SLUICE_TEST_KAFKA: "real" (the default,
// and what CI runs) or "kfake". Integration tests that use SharedKafka run
// on either without changes.
func KafkaMode() string {
	if m := os.Getenv("SLUICE_TEST_KAFKA"); m != "" {
		return m
	}
	return "real"
}

var sharedK struct {
	once sync.Once
	k    Kafka
	err  error
}

func sharedKafka() (Kafka, error) {
	sharedK.once.Do(func() {
		switch mode := KafkaMode(); mode {
		case "kfake":
			f, err := newFake()
			if err != nil {
				sharedK.err = err
				return
			}
			register(f.c.Close)
			sharedK.k = f
			announce("testenv: SLUICE_TEST_KAFKA=kfake: Kafka tests run on the in-memory kfake cluster at %s", f.Brokers()[0])
		case "real":
			start := time.Now()
			k, err := StartKafka(context.Background(), KafkaOptions{})
			if err != nil {
				sharedK.err = err
				return
			}
			sharedK.k = k
			announce("testenv: Kafka version: %s (real broker, KRaft) started on %s in %s", k.Version(), k.Brokers()[0], time.Since(start).Round(time.Millisecond))
		default:
			sharedK.err = fmt.Errorf("SLUICE_TEST_KAFKA=%q: want real or kfake", mode)
		}
	})
	return sharedK.k, sharedK.err
}

// SharedKafka returns the package's shared broker, started on first use:
// the real broker, or a kfake cluster when SLUICE_TEST_KAFKA=kfake. It
// fails (CI) or skips (locally) when the broker cannot start.
func SharedKafka(tb testing.TB) Kafka {
	tb.Helper()
	if KafkaMode() != "kfake" {
		skipIfDisabled(tb)
	}
	k, err := sharedKafka()
	if err != nil {
		unavailable(tb, "Kafka", err)
	}
	return k
}
