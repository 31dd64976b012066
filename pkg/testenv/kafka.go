package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaVersion is the broker version the tests run; keep it equal to
// kafka.version in tools/kafka/pom.xml.
const KafkaVersion = "3.9.1"

// Kafka is what a test needs of a broker, real or in-memory.
type Kafka interface {
	Brokers() []string
	// Kind is "real" or "kfake".
	Kind() string
}

// KafkaBroker is a real Apache Kafka broker in KRaft mode (combined broker
// and controller, one node) run from the jars `make deps` fetched.
type KafkaBroker struct {
	dir, libs, props string
	port, ctrlPort   int
	version          string
	proc             *process
	mu               sync.Mutex
}

// KafkaLibs returns the directory of the broker jars: SLUICE_KAFKA_LIBS or
// .cache/kafka/<version>/libs under the repository root.
func KafkaLibs() (string, error) {
	if d := os.Getenv("SLUICE_KAFKA_LIBS"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "kafka", KafkaVersion, "libs"), nil
}

// StartKafka formats a KRaft log directory and starts the broker on free
// loopback ports, waiting until a client can fetch metadata.
func StartKafka(ctx context.Context) (*KafkaBroker, error) {
	libs, err := KafkaLibs()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(libs, "kafka_2.13-"+KafkaVersion+".jar")); err != nil {
		return nil, fmt.Errorf("kafka %s jars not found in %s (run `make deps`): %w", KafkaVersion, libs, err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found (Java 17 is needed for the broker): %w", err)
	}
	dir, err := tempDir("kafka")
	if err != nil {
		return nil, err
	}
	k := &KafkaBroker{dir: dir, libs: libs, props: filepath.Join(dir, "server.properties")}
	if k.port, err = FreePort(); err != nil {
		return nil, err
	}
	if k.ctrlPort, err = FreePort(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.props, []byte(k.config()), 0o644); err != nil {
		return nil, err
	}
	log4j := filepath.Join(dir, "log4j.properties")
	if err := os.WriteFile(log4j, []byte(log4jConfig), 0o644); err != nil {
		return nil, err
	}
	format := exec.CommandContext(ctx, java, "-cp", filepath.Join(libs, "*"), "-Dlog4j.configuration=file:"+log4j,
		"kafka.tools.StorageTool", "format", "-t", clusterID(), "-c", k.props)
	if out, err := format.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("formatting kafka storage: %v\n%s", err, out)
	}
	if err := k.start(ctx, java, log4j); err != nil {
		return nil, err
	}
	return k, nil
}

// config is the broker's server.properties. Replication factors are 1
// (single node); the transaction state log must allow that too, or
// transactional producers never get a coordinator.
func (k *KafkaBroker) config() string {
	return strings.Join([]string{
		"process.roles=broker,controller",
		"node.id=1",
		"controller.quorum.voters=1@127.0.0.1:" + strconv.Itoa(k.ctrlPort),
		"listeners=PLAINTEXT://127.0.0.1:" + strconv.Itoa(k.port) + ",CONTROLLER://127.0.0.1:" + strconv.Itoa(k.ctrlPort),
		"advertised.listeners=PLAINTEXT://127.0.0.1:" + strconv.Itoa(k.port),
		"controller.listener.names=CONTROLLER",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name=PLAINTEXT",
		"log.dirs=" + filepath.Join(k.dir, "data"),
		"num.partitions=1",
		"offsets.topic.replication.factor=1",
		"offsets.topic.num.partitions=4",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=4",
		"group.initial.rebalance.delay.ms=0",
		"auto.create.topics.enable=false",
		"log.flush.interval.messages=9223372036854775807",
		"num.network.threads=2",
		"num.io.threads=2",
	}, "\n") + "\n"
}

const log4jConfig = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`

// clusterID returns a random KRaft cluster id (a UUID in URL-safe base64
// without padding, as kafka-storage random-uuid prints).
func clusterID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var versionRe = regexp.MustCompile(`Kafka version: (\S+)`)

func (k *KafkaBroker) start(ctx context.Context, java, log4j string) error {
	p, err := startProcess("kafka", filepath.Join(k.dir, "broker.log"), nil, java,
		"-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
		"-Dlog4j.configuration=file:"+log4j, "-cp", filepath.Join(k.libs, "*"), "kafka.Kafka", k.props)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.proc = p
	k.mu.Unlock()
	err = waitUntil(ctx, p, 90*time.Second, func(ctx context.Context) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...))
		if err != nil {
			return err
		}
		defer cl.Close()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return cl.Ping(pctx)
	})
	if err != nil {
		return err
	}
	if b, _ := os.ReadFile(p.logPath); versionRe.Match(b) {
		k.version = string(versionRe.FindSubmatch(b)[1])
	}
	return nil
}

// Brokers returns the bootstrap address.
func (k *KafkaBroker) Brokers() []string { return []string{"127.0.0.1:" + strconv.Itoa(k.port)} }

// Kind returns "real".
func (k *KafkaBroker) Kind() string { return "real" }

// Version is the version the broker printed at start-up ("Kafka version:").
func (k *KafkaBroker) Version() string { return k.version }

// Stop shuts the broker down cleanly.
func (k *KafkaBroker) Stop() {
	k.mu.Lock()
	p := k.proc
	k.mu.Unlock()
	p.stop(30 * time.Second)
}

// Kill crashes the broker (SIGKILL), keeping its log directory.
func (k *KafkaBroker) Kill() {
	k.mu.Lock()
	p := k.proc
	k.mu.Unlock()
	p.kill()
}

// Restart starts a stopped or killed broker again on the same log
// directory and ports.
func (k *KafkaBroker) Restart(ctx context.Context) error {
	k.Stop()
	java, err := exec.LookPath("java")
	if err != nil {
		return err
	}
	return k.start(ctx, java, filepath.Join(k.dir, "log4j.properties"))
}

// Remove stops the broker and deletes its directory.
func (k *KafkaBroker) Remove() {
	k.Stop()
	_ = os.RemoveAll(k.dir)
}

// LogTail returns the last n lines of the broker log.
func (k *KafkaBroker) LogTail(n int) string { return tail(filepath.Join(k.dir, "broker.log"), n) }

// Fake is an in-memory kfake cluster for fast unit tests of Kafka logic.
type Fake struct{ c *kfake.Cluster }

// Brokers returns the fake cluster's addresses.
func (f *Fake) Brokers() []string { return f.c.ListenAddrs() }

// Kind returns "kfake".
func (f *Fake) Kind() string { return "kfake" }

// Cluster exposes the kfake cluster (fault injection, control functions).
func (f *Fake) Cluster() *kfake.Cluster { return f.c }

// NewKfake starts an in-memory kfake cluster closed when tb ends.
func NewKfake(tb testing.TB, opts ...kfake.Opt) *Fake {
	tb.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		tb.Fatalf("starting kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	return &Fake{c: c}
}

var (
	sharedKafkaOnce sync.Once
	sharedKafka     Kafka
	sharedKafkaErr  error
)

// KafkaMode is the harness switch: SLUICE_TEST_KAFKA=real (default) or
// kfake. Integration tests written against SharedKafka run on either.
func KafkaMode() string {
	if m := os.Getenv("SLUICE_TEST_KAFKA"); m != "" {
		return m
	}
	return "real"
}

// SharedKafka returns the package's shared broker: the real broker, or a
// kfake cluster when SLUICE_TEST_KAFKA=kfake.
func SharedKafka(tb testing.TB) Kafka {
	tb.Helper()
	sharedKafkaOnce.Do(func() {
		switch mode := KafkaMode(); mode {
		case "kfake":
			c, err := kfake.NewCluster(kfake.NumBrokers(1))
			if err != nil {
				sharedKafkaErr = err
				return
			}
			register(c.Close)
			sharedKafka = &Fake{c: c}
			fmt.Fprintln(os.Stderr, "testenv: SLUICE_TEST_KAFKA=kfake: Kafka integration tests run on the in-memory kfake broker")
		case "real":
			start := time.Now()
			k, err := StartKafka(context.Background())
			if err != nil {
				sharedKafkaErr = err
				return
			}
			register(k.Remove)
			sharedKafka = k
			fmt.Fprintf(os.Stderr, "testenv: Kafka version: %s (real broker, KRaft) started on %s in %s\n", k.Version(), k.Brokers()[0], time.Since(start).Round(time.Millisecond))
		default:
			sharedKafkaErr = fmt.Errorf("SLUICE_TEST_KAFKA=%q: want real or kfake", mode)
		}
	})
	if sharedKafkaErr != nil {
		unavailable(tb, "Kafka", sharedKafkaErr)
	}
	return sharedKafka
}
