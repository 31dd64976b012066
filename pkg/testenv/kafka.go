package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaVersion is the broker version the tests run; keep it equal to
// kafka.version in tools/kafka/pom.xml.
const KafkaVersion = "3.9.1"

// KafkaOptions tunes a private broker.
type KafkaOptions struct {
	// Extra lines appended to server.properties (later ones win).
	Extra []string
	// JVMArgs replace the default JVM flags (heap 256-512 MB, C1 JIT only:
	// the broker starts in about 3s on 2 cores, at some cost in peak speed).
	JVMArgs []string
	// StartTimeout bounds start-up and restart (default 90s).
	StartTimeout time.Duration
}

// KafkaBroker is a real Apache Kafka broker in KRaft mode (combined broker
// and controller, one node) run from the jars `make deps` fetched.
type KafkaBroker struct {
	java, dir, libs, props, log4j string
	port, ctrlPort                int
	opts                          KafkaOptions
	mu                            sync.Mutex
	proc                          *process
	version                       string
}

// KafkaLibs returns the directory of the broker jars: SLUICE_KAFKA_LIBS, or
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
// loopback ports, waiting until it has started and serves metadata. The
// caller should Remove it; StopAll (run by Main) also does.
func StartKafka(ctx context.Context, opts KafkaOptions) (*KafkaBroker, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.JVMArgs == nil {
		opts.JVMArgs = []string{"-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"}
	}
	libs, err := KafkaLibs()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(libs, "kafka_2.13-"+KafkaVersion+".jar")); err != nil {
		return nil, fmt.Errorf("kafka %s jars not found in %s (run `make deps`): %w", KafkaVersion, libs, err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found (the broker needs Java 17): %w", err)
	}
	dir, err := tempDir("kafka")
	if err != nil {
		return nil, err
	}
	k := &KafkaBroker{java: java, dir: dir, libs: libs, opts: opts,
		props: filepath.Join(dir, "server.properties"), log4j: filepath.Join(dir, "log4j.properties")}
	if err := k.init(ctx); err != nil {
		k.Remove()
		return nil, err
	}
	register(k.Remove)
	return k, nil
}

func (k *KafkaBroker) init(ctx context.Context) error {
	var err error
	if k.port, err = FreePort(); err != nil {
		return err
	}
	if k.ctrlPort, err = FreePort(); err != nil {
		return err
	}
	if err := os.WriteFile(k.props, []byte(k.config()), 0o644); err != nil {
		return fmt.Errorf("writing server.properties: %w", err)
	}
	if err := os.WriteFile(k.log4j, []byte(log4jConfig), 0o644); err != nil {
		return fmt.Errorf("writing log4j.properties: %w", err)
	}
	out, err := runTool(ctx, nil, k.dir, k.java, "-cp", filepath.Join(k.libs, "*"), "-Dlog4j.configuration=file:"+k.log4j,
		"kafka.tools.StorageTool", "format", "-t", clusterID(), "-c", k.props)
	if err != nil {
		return fmt.Errorf("formatting kafka storage: %w\n%s", err, out)
	}
	return k.start(ctx)
}

// config is the broker's server.properties. Replication factors are 1
// (single node); the transaction state log must allow that too, or
// transactional producers never find a coordinator. Topics are not
// auto-created, as in production: capture creates its topics. Log flushes
// are left to the OS, as in Kafka's defaults.
func (k *KafkaBroker) config() string {
	lines := []string{
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
		// After a kill -9 the controller refuses the restarted broker's
		// registration until the old session expires (9s by default).
		"broker.heartbeat.interval.ms=500",
		"broker.session.timeout.ms=2000",
		"num.network.threads=2",
		"num.io.threads=2",
	}
	lines = append(lines, k.opts.Extra...)
	return strings.Join(lines, "\n") + "\n"
}

const log4jConfig = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`

// clusterID returns a random KRaft cluster id: 16 random bytes in URL-safe
// base64 without padding, the form kafka-storage random-uuid prints.
func clusterID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	// A leading '-' would read as an option to the storage tool's
	// argument parser ("expected one argument"), so the first character
	// is kept alphanumeric: 6 bits of the 128 are fixed, which is harmless.
	b[0] &^= 0x80 | 0x40
	b[0] |= 0x40 // first base64 character in 'Q'..'f' range: never '-' or '_'
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var versionRe = regexp.MustCompile(`Kafka version: (\S+)`)

// start runs the broker and waits until its log says it started (only
// lines written by this run count: Restart appends to the same log) and a
// client can fetch metadata naming a controller.
func (k *KafkaBroker) start(ctx context.Context) error {
	var from int64
	if st, err := os.Stat(k.logPath()); err == nil {
		from = st.Size()
	}
	args := append(append([]string(nil), k.opts.JVMArgs...),
		"-Dlog4j.configuration=file:"+k.log4j, "-cp", filepath.Join(k.libs, "*"), "kafka.Kafka", k.props)
	p, err := startProcess("kafka", k.logPath(), nil, k.java, args...)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.proc = p
	k.mu.Unlock()
	var logged []byte
	err = p.waitReady(ctx, k.opts.StartTimeout, func(ctx context.Context) error {
		if logged = logSince(k.logPath(), from); !bytes.Contains(logged, []byte("Kafka Server started")) {
			return errors.New(`no "Kafka Server started" in the log yet`)
		}
		return k.metadataReady(ctx)
	})
	if err != nil {
		return err
	}
	if m := versionRe.FindSubmatch(logged); m != nil {
		k.mu.Lock()
		k.version = string(m[1])
		k.mu.Unlock()
	}
	return nil
}

func (k *KafkaBroker) metadataReady(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	if len(md.Brokers) == 0 || md.Controller < 0 {
		return fmt.Errorf("metadata without brokers or controller: %d brokers, controller %d", len(md.Brokers), md.Controller)
	}
	return nil
}

// logSince returns a file's content from byte offset from.
func logSince(path string, from int64) []byte {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < from {
		return nil
	}
	return b[from:]
}

func (k *KafkaBroker) logPath() string { return filepath.Join(k.dir, "broker.log") }

// Brokers returns the bootstrap address.
func (k *KafkaBroker) Brokers() []string { return []string{"127.0.0.1:" + strconv.Itoa(k.port)} }

// Kind returns "real".
func (k *KafkaBroker) Kind() string { return "real" }

// Version is the version the broker printed at its last start
// ("Kafka version: ...").
func (k *KafkaBroker) Version() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.version
}

func (k *KafkaBroker) process() *process {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.proc
}

// Stop shuts the broker down cleanly (SIGTERM), killing it after 30s.
func (k *KafkaBroker) Stop() { k.process().stop(syscall.SIGTERM, 30*time.Second) }

// Kill crashes the broker (SIGKILL), keeping its log directory.
func (k *KafkaBroker) Kill() { k.process().kill() }

// Restart stops the broker if it runs and starts it again on the same log
// directory and ports; after Kill this is log recovery.
func (k *KafkaBroker) Restart(ctx context.Context) error {
	k.Stop()
	return k.start(ctx)
}

// Remove stops the broker and deletes its directory. It may be called more
// than once.
func (k *KafkaBroker) Remove() {
	k.Stop()
	_ = os.RemoveAll(k.dir)
}

// LogTail returns the last n lines of the broker log.
func (k *KafkaBroker) LogTail(n int) string { return tail(k.logPath(), n) }

// NewKafka starts a real broker of the test's own, removed when the test
// ends; for tests that kill or restart the broker. It ignores
// SLUICE_TEST_KAFKA: kfake cannot be killed.
func NewKafka(tb testing.TB, opts KafkaOptions) *KafkaBroker {
	tb.Helper()
	skipIfDisabled(tb)
	start := time.Now()
	k, err := StartKafka(tb.Context(), opts)
	if err != nil {
		unavailable(tb, "Kafka", err)
	}
	tb.Cleanup(k.Remove)
	tb.Logf("testenv: Kafka version: %s (own broker) started on %s in %s", k.Version(), k.Brokers()[0], time.Since(start).Round(time.Millisecond))
	return k
}
