package mongo

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestKill9Capture runs the capture binary against a collection under a
// steady insert/update load, kills it with SIGKILL mid-stream a few times
// and restarts it from the stored position: a read_committed reader sees
// every change exactly once, in order (G1, G3).
func TestKill9Capture(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	cp := e.binCapture(t, dir, []string{e.db + "." + e.coll}, "")
	start := func(from string) *testenv.Process {
		if from != "" {
			return cp.start(t, "--from", from)
		}
		return cp.start(t)
	}
	p := start(startSpec())

	// Writer: n inserts, paced so the kills land mid-stream.
	const n = 300
	c := e.m.Connect(t).Database(e.db).Collection(e.coll)
	var written atomic.Int32
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := c.InsertOne(t.Context(), bson.D{{Key: "_id", Value: int32(i)}, {Key: "v", Value: int64(i)}}); err != nil {
				done <- err
				return
			}
			written.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
		done <- nil
	}()
	// A position must be stored before the first kill, or the restart
	// would begin at start.default (latest), as it should.
	consume(t, e.brokers, e.topic(), 1, 60*time.Second)
	for kill := 1; kill <= 3; kill++ {
		for written.Load() < int32(kill*n/4) {
			time.Sleep(5 * time.Millisecond)
		}
		p.Kill()
		t.Logf("kill -9 #%d after %d inserts", kill, written.Load())
		time.Sleep(200 * time.Millisecond)
		p = start("") // the stored position
	}
	must(t, <-done, "writer")
	checkOnce(t, consume(t, e.brokers, e.topic(), n, 90*time.Second), n)
	_ = p.Stop(30 * time.Second)
}

// captureBin is SLUICE_TEST_CAPTURE_BIN (a prebuilt bin/capture), or the
// capture command built into dir.
func captureBin(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv("SLUICE_TEST_CAPTURE_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(dir, "capture")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/capture")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binCapture runs the capture command on a config of e's server and
// broker.
type binCapture struct {
	bin, cfg string
	env      []string
}

// binCapture writes a config that watches colls (db.collection) in the
// Debezium format, with extra YAML lines.
func (e *env) binCapture(t *testing.T, dir string, colls []string, extra string) *binCapture {
	t.Helper()
	list, _ := json.Marshal(colls)
	cfg := fmt.Sprintf(`name: %s
source:
  kind: mongodb
  uri: ${TEST_MONGO_URI}
  watch: collections
  collections: %s
format: debezium
topics: {prefix: %s}
transactions: {commit_interval: 20ms, timeout: 20s}
kafka: {brokers: [%q]}
http: {listen: "127.0.0.1:0"}
log: {level: warn}
%s
`, e.prefix, list, e.prefix, e.brokers[0], extra)
	path := filepath.Join(dir, "capture.yaml")
	must(t, os.WriteFile(path, []byte(cfg), 0o600), "writing config")
	return &binCapture{bin: captureBin(t, dir), cfg: path, env: append(os.Environ(), "TEST_MONGO_URI="+e.m.URI())}
}

// command is the capture command sub (run, snapshot, ...) on the config.
func (b *binCapture) command(sub string, args ...string) *exec.Cmd {
	cmd := exec.Command(b.bin, append([]string{sub, "--config", b.cfg}, args...)...)
	cmd.Env = b.env
	return cmd
}

// start starts `capture run` with args, its output in the test log.
func (b *binCapture) start(t *testing.T, args ...string) *testenv.Process {
	t.Helper()
	return testenv.StartProcess(t, b.command("run", args...), func(line string) { t.Log(line) })
}
