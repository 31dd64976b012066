// Package testenv starts real servers for tests: MariaDB with the binlog
// on, PostgreSQL and an Apache Kafka broker in KRaft mode, each a private
// instance with its own temporary directory and free ports on loopback,
// plus the in-memory kfake cluster for fast unit tests.
//
// A test package shares its servers across its tests:
//
//	func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedMariaDB, testenv.NeedKafka) }
//
//	func TestX(t *testing.T) {
//		m := testenv.SharedMariaDB(t)
//		db := m.CreateDatabase(t) // unique name: tests never share tables
//		...
//	}
//
// Main starts the needed servers in parallel before the tests (Shared*
// also starts one lazily on first use, so Main(m) alone works too), and
// stops and deletes every server after them. Servers are also forked with
// a parent-death signal, so a panic, a timeout or kill -9 of the test
// binary leaves no server running; the next run deletes directories a dead
// run left behind. Tests that need a server of their own (crash, restart,
// failover, Galera) call NewMariaDB, NewPostgres or NewKafka, which stop
// it when the test ends, or Start* and stop it themselves.
//
// Policy when a server cannot start: with CI=true the run fails and prints
// the server's log tail, never a skip. Locally it skips with a loud
// message, so a laptop without the packages still runs the unit tests
// (`make deps` installs everything). SLUICE_TEST_SERVERS=none skips every
// server test locally (make test-unit). SLUICE_TEST_KAFKA=kfake runs the
// Kafka integration tests on kfake instead of the real broker.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// InCI reports whether the run is in CI (CI=true), where a server that does
// not start is a failure, not a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// serversDisabled reports SLUICE_TEST_SERVERS=none: no server is started.
// CI ignores it, as CI must never skip.
func serversDisabled() bool { return os.Getenv("SLUICE_TEST_SERVERS") == "none" && !InCI() }

// unavailable fails (CI) or skips (locally) the test because a server could
// not be started.
func unavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("testenv: %s could not start (CI=true, so this fails instead of skipping): %v", what, err)
	}
	tb.Skipf("testenv: SKIPPING, %s is not available here: %v\n(run `make deps` to install it; in CI this is a failure)", what, err)
}

// Need names a shared server for Main to start before the tests.
type Need int

const (
	NeedMariaDB Need = iota + 1
	NeedPostgres
	NeedKafka
)

// Main starts the needed shared servers (in parallel), runs the tests,
// then stops and deletes every server started by this package's tests.
// In CI a needed server that does not start fails the run even if no test
// asks for it. Use it from TestMain.
func Main(m *testing.M, needs ...Need) {
	sweepStale()
	failed := false
	if !serversDisabled() {
		var wg sync.WaitGroup
		errs := make([]error, len(needs))
		for i, n := range needs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch n {
				case NeedMariaDB:
					errs[i] = sharedMariaDB()
				case NeedPostgres:
					errs[i] = sharedPostgres()
				case NeedKafka:
					_, errs[i] = sharedKafka()
				default:
					errs[i] = fmt.Errorf("testenv.Main: unknown Need %d", n)
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && InCI() {
				announce("testenv: SERVER DID NOT START (CI=true, so the run fails): %v", err)
				failed = true
			} else if err != nil {
				announce("testenv: SERVER DID NOT START, its tests will be skipped: %v", err)
			}
		}
	}
	code := 1
	if !failed {
		code = m.Run()
	}
	StopAll()
	os.Exit(code)
}

var (
	registryMu sync.Mutex
	stoppers   []func()
)

// register adds a stop function that StopAll runs. Every started server
// registers its Remove here, so even one a test forgot is gone at the end.
func register(stop func()) {
	registryMu.Lock()
	defer registryMu.Unlock()
	stoppers = append(stoppers, stop)
}

// StopAll stops and deletes every server started so far, newest first.
func StopAll() {
	registryMu.Lock()
	s := stoppers
	stoppers = nil
	registryMu.Unlock()
	for i := len(s) - 1; i >= 0; i-- {
		s[i]()
	}
}

var (
	announceMu sync.Mutex
	announced  []string
)

// announce prints a harness line to stderr, where `go test -v` and `make
// test` show it even when no test is running, and keeps it for Announced.
func announce(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	announceMu.Lock()
	announced = append(announced, line)
	announceMu.Unlock()
	fmt.Fprintln(os.Stderr, line)
}

// Announced returns the lines the harness printed so far (servers started,
// versions, failures).
func Announced() []string {
	announceMu.Lock()
	defer announceMu.Unlock()
	return append([]string(nil), announced...)
}

// UniqueName returns a name usable as a database or topic name that no
// other test of this run uses: the test name, lower-cased and shortened,
// plus random hex. It fits MariaDB's and PostgreSQL's identifier limits.
func UniqueName(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	if len(base) > 40 {
		base = base[:40]
	}
	return "t_" + base + "_" + hex.EncodeToString(b[:])
}
