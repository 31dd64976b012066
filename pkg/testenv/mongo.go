package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// No real mongod is in this machine's package registries (DESIGN §10), so
// Mongo tests run on wire-protocol servers that are:
//
//   - FerretDB v1 embedded with its SQLite backend, for apply tests. It has
//     no transactions, no Decimal128 and no change streams.
//   - mongo-java-server (in-memory backend) with its oplog on, for
//     change-stream tests; it supports $changeStream only partially (see
//     mongo_changestream_test.go for what works).
//
// With SLUICE_TEST_MONGO_URI set (a real replica set, e.g. the one in
// docker-compose.yml: mongodb://127.0.0.1:27017/?replicaSet=rs0) every
// Mongo test runs against that server instead, and tests gated on
// Mongo.Real (Decimal128, transactions, pre-images) run too.

// Kinds of Mongo test servers, as Mongo.Kind reports them.
const (
	MongoKindFerretDB   = "ferretdb"
	MongoKindJavaServer = "mongo-java-server"
	MongoKindExternal   = "external"
)

// MongoOptions tunes a private Mongo wire server.
type MongoOptions struct {
	// StartTimeout bounds start-up and restart (default 60s, plus a build
	// of the server when it is not cached yet).
	StartTimeout time.Duration
}

// Mongo is a MongoDB wire server for tests: a private FerretDB or
// mongo-java-server on a loopback port, or the external server named by
// SLUICE_TEST_MONGO_URI.
type Mongo struct {
	kind, uri, dir string
	args           []string // server command line; nil for external
	opts           MongoOptions
	mu             sync.Mutex
	proc           *process
}

// ExternalMongoURI returns SLUICE_TEST_MONGO_URI: a real MongoDB (replica
// set) to run the Mongo tests against instead of the test servers.
func ExternalMongoURI() string { return os.Getenv("SLUICE_TEST_MONGO_URI") }

// StartFerretDB builds FerretDB if needed and starts it on a free loopback
// port with a fresh SQLite directory. The caller should Remove it; StopAll
// (run by Main) also does.
func StartFerretDB(ctx context.Context, opts MongoOptions) (*Mongo, error) {
	bin, err := FerretDBBinary(ctx)
	if err != nil {
		return nil, err
	}
	return startMongo(ctx, MongoKindFerretDB, opts, func(dir string, port int) []string {
		return []string{bin, "-listen", "127.0.0.1:" + strconv.Itoa(port), "-dir", filepath.Join(dir, "data")}
	})
}

// StartMongoJavaServer fetches and builds mongo-java-server if needed and
// starts it (in memory, oplog on, reporting MongoDB 4.4, the oldest the
// Go driver accepts) on a free
// loopback port. The caller should Remove it; StopAll also does.
func StartMongoJavaServer(ctx context.Context, opts MongoOptions) (*Mongo, error) {
	libs, err := MongoJavaServerLibs(ctx)
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found (mongo-java-server needs Java 17): %w", err)
	}
	return startMongo(ctx, MongoKindJavaServer, opts, func(_ string, port int) []string {
		return []string{java, "-Xms64m", "-Xmx512m", "-XX:TieredStopAtLevel=1",
			"-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn", "-cp", javaClasspath(libs),
			"dev.sluice.mongo.JavaServer", strconv.Itoa(port), "4.4.0", "9"}
	})
}

func startMongo(ctx context.Context, kind string, opts MongoOptions, cmdline func(dir string, port int) []string) (*Mongo, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	dir, err := tempDir(kind)
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	m := &Mongo{kind: kind, dir: dir, opts: opts, args: cmdline(dir, port),
		uri: fmt.Sprintf("mongodb://127.0.0.1:%d/?directConnection=true", port)}
	if err := m.start(ctx); err != nil {
		m.Remove()
		return nil, err
	}
	register(m.Remove)
	return m, nil
}

func (m *Mongo) start(ctx context.Context) error {
	p, err := startProcess(m.kind, m.logPath(), nil, m.args[0], m.args[1:]...)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	return p.waitReady(ctx, m.opts.StartTimeout, m.ping)
}

// ping connects and runs the ping command.
func (m *Mongo) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(m.uri).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		return err
	}
	defer c.Disconnect(context.Background()) //nolint:errcheck
	return c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

// URI is the connection string.
func (m *Mongo) URI() string { return m.uri }

// Kind is MongoKindFerretDB, MongoKindJavaServer or MongoKindExternal.
func (m *Mongo) Kind() string { return m.kind }

// Real reports whether this is a real MongoDB (SLUICE_TEST_MONGO_URI), with
// Decimal128, transactions, change streams and pre-images.
func (m *Mongo) Real() bool { return m.kind == MongoKindExternal }

// Connect returns a client connected to the server, disconnected when the
// test ends.
func (m *Mongo) Connect(tb testing.TB) *mongo.Client {
	tb.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(m.uri))
	if err != nil {
		tb.Fatalf("connecting to %s (%s): %v", m.kind, m.uri, err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// CreateDatabase returns a database name for tb that no other test uses.
// Mongo creates databases on first write; on an external server the
// database is dropped when the test ends, private servers are deleted.
func (m *Mongo) CreateDatabase(tb testing.TB) string {
	tb.Helper()
	name := UniqueName(tb)
	if m.Real() {
		tb.Cleanup(func() {
			c, err := mongo.Connect(options.Client().ApplyURI(m.uri))
			if err != nil {
				return
			}
			defer c.Disconnect(context.Background()) //nolint:errcheck
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = c.Database(name).Drop(ctx)
		})
	}
	return name
}

func (m *Mongo) logPath() string { return filepath.Join(m.dir, m.kind+".log") }

func (m *Mongo) process() *process {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc
}

// Stop shuts the server down (SIGTERM), killing it after 10s. It does
// nothing on an external server.
func (m *Mongo) Stop() { m.process().stop(syscall.SIGTERM, 10*time.Second) }

// Kill crashes the server (SIGKILL). FerretDB keeps its SQLite files;
// mongo-java-server loses everything (it is in memory).
func (m *Mongo) Kill() { m.process().kill() }

// Restart stops the server if it runs and starts it again on the same port
// (and, for FerretDB, the same data).
func (m *Mongo) Restart(ctx context.Context) error {
	if m.args == nil {
		return fmt.Errorf("testenv: cannot restart the external Mongo %s", m.uri)
	}
	m.Stop()
	return m.start(ctx)
}

// Remove stops the server and deletes its directory. It may be called more
// than once.
func (m *Mongo) Remove() {
	m.Stop()
	if m.dir != "" {
		_ = os.RemoveAll(m.dir)
	}
}

// LogTail returns the last n lines of the server log.
func (m *Mongo) LogTail(n int) string {
	if m.dir == "" {
		return "(external server: no log)"
	}
	return tail(m.logPath(), n)
}

// sharedMongo is one lazily started server shared by a package's tests.
type sharedMongo struct {
	once  sync.Once
	m     *Mongo
	err   error
	start func(context.Context, MongoOptions) (*Mongo, error)
	name  string
}

var (
	sharedFerret = &sharedMongo{start: StartFerretDB, name: "FerretDB " + FerretDBVersion}
	sharedJava   = &sharedMongo{start: StartMongoJavaServer, name: "mongo-java-server " + MongoJavaServerVersion}
)

func (s *sharedMongo) get() (*Mongo, error) {
	s.once.Do(func() {
		if uri := ExternalMongoURI(); uri != "" {
			s.m = &Mongo{kind: MongoKindExternal, uri: uri}
			announce("testenv: Mongo tests run against SLUICE_TEST_MONGO_URI instead of %s", s.name)
			return
		}
		start := time.Now()
		s.m, s.err = s.start(context.Background(), MongoOptions{})
		if s.err == nil {
			announce("testenv: %s started on %s in %s", s.name, s.m.uri, time.Since(start).Round(time.Millisecond))
		}
	})
	return s.m, s.err
}

func (s *sharedMongo) forTest(tb testing.TB) *Mongo {
	tb.Helper()
	skipIfDisabled(tb)
	m, err := s.get()
	if err != nil {
		unavailable(tb, s.name, err)
	}
	return m
}

// FerretDB returns the package's shared Mongo server for apply tests:
// FerretDB, started on first use, or the SLUICE_TEST_MONGO_URI server. It
// fails (CI) or skips (locally) when the server cannot start, and skips
// under SLUICE_TEST_SERVERS=none.
func FerretDB(tb testing.TB) *Mongo { tb.Helper(); return sharedFerret.forTest(tb) }

// MongoJavaServer returns the package's shared Mongo server for
// change-stream tests: mongo-java-server with its oplog, started on first
// use, or the SLUICE_TEST_MONGO_URI server.
func MongoJavaServer(tb testing.TB) *Mongo { tb.Helper(); return sharedJava.forTest(tb) }

// NewFerretDB starts a FerretDB of the test's own, removed when the test
// ends; for tests that kill or restart the target. With
// SLUICE_TEST_MONGO_URI set it returns that server (which cannot be
// restarted).
func NewFerretDB(tb testing.TB, opts MongoOptions) *Mongo {
	tb.Helper()
	return newMongo(tb, "FerretDB", opts, StartFerretDB)
}

// NewMongoJavaServer starts a mongo-java-server of the test's own, removed
// when the test ends. With SLUICE_TEST_MONGO_URI set it returns that server.
func NewMongoJavaServer(tb testing.TB, opts MongoOptions) *Mongo {
	tb.Helper()
	return newMongo(tb, "mongo-java-server", opts, StartMongoJavaServer)
}

func newMongo(tb testing.TB, name string, opts MongoOptions, start func(context.Context, MongoOptions) (*Mongo, error)) *Mongo {
	tb.Helper()
	skipIfDisabled(tb)
	if uri := ExternalMongoURI(); uri != "" {
		return &Mongo{kind: MongoKindExternal, uri: uri}
	}
	m, err := start(tb.Context(), opts)
	if err != nil {
		unavailable(tb, name, err)
	}
	tb.Cleanup(m.Remove)
	return m
}
