package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/pkg/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
)

// buildApply builds cmd/apply once per test binary.
func buildApply(t *testing.T) string {
	return testenv.Binary(t, "github.com/sluice-cdc/sluice/apply/cmd/apply")
}

// TestCrashApply kills apply with SIGKILL at random moments while changes
// keep arriving; after a last clean run the target equals the source and
// the offsets stored in the target equal those committed in Kafka.
func TestCrashApply(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	bin := buildApply(t)
	e := newEnv(t)
	e.exec(e.mconn, accountsMaria)
	topic := e.topic("accounts")
	e.createTopic(topic, 3)
	cfgPath := filepath.Join(t.TempDir(), "apply.yaml")
	cfg := fmt.Sprintf(`group: crash
topics: [%q]
target: {kind: mysql, dsn: "${TARGET_DSN}"}
batch: {rows: 300, linger: 20ms}
consumer: {session_timeout: 6s, rebalance_timeout: 10s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: warn}
`, topic, e.brokers[0])
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TARGET_DSN="+e.maria.DSN(e.mdb))
	logPath := filepath.Join(t.TempDir(), "apply.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("apply log tail:\n%s", tailFile(logPath, 30))
		}
	})
	start := func() *testenv.Process {
		cmd := exec.Command(bin, "run", "--config", cfgPath)
		cmd.Env = env
		return testenv.StartProcess(t, cmd, func(line string) { fmt.Fprintln(logf, line) })
	}

	// The writer: 30 bursts of 400 changes on 2000 keys.
	a := newAccounts(11, 2000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := make(chan error, 1)
	go func() {
		for range 30 {
			if err := e.producer.ProduceSync(ctx, a.records(t, topic, 400)...).FirstErr(); err != nil {
				produced <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		produced <- nil
	}()

	rng := rand.New(rand.NewPCG(5, 6))
	const kills = 20
	for range kills {
		p := start()
		time.Sleep(time.Duration(300+rng.IntN(2700)) * time.Millisecond)
		p.Kill()
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	p := start()
	e.waitApplied(e.mconn, "mysql", "crash", topic)
	if err := p.Stop(45 * time.Second); err != nil {
		t.Fatalf("apply did not exit cleanly on SIGTERM: %v\n%s", err, tailFile(logPath, 20))
	}

	if got, want := rowsText(t, e.mconn, accountsQuery), a.expected(); !slices.Equal(got, want) {
		diff := 0
		for _, w := range want {
			if !slices.Contains(got, w) {
				diff++
			}
		}
		t.Fatalf("after %d kills the target differs from the source: %d rows vs %d, %d expected rows missing or different", kills, len(got), len(want), diff)
	}
	stored := storedOffsets(t, e.mconn, "mysql", "crash", topic)
	resp, err := e.adm.FetchOffsets(context.Background(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && stored[o.Partition] != o.At {
			t.Errorf("partition %d: sluice_offsets %d, Kafka committed %d", o.Partition, stored[o.Partition], o.At)
		}
	})
	t.Logf("%d kills; %d changes; target equals source; sluice_offsets %v equals Kafka's commits", kills, 30*400, stored)
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := slices.Collect(func(yield func(string) bool) {
		start := 0
		for i, c := range b {
			if c == '\n' {
				if !yield(string(b[start:i])) {
					return
				}
				start = i + 1
			}
		}
	})
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}
