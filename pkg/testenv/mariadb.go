package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDBOptions tunes a private MariaDB instance.
type MariaDBOptions struct {
	// ServerID is the server's server_id (default 1).
	ServerID uint32
	// GTIDDomainID is gtid_domain_id (default 0).
	GTIDDomainID uint32
	// Extra lines appended to the [mariadbd] section of my.cnf; later ones
	// override earlier ones, e.g. "binlog_row_image=MINIMAL" or the wsrep_*
	// settings of a Galera node.
	Extra []string
	// StartTimeout bounds start-up and restart (default 60s).
	StartTimeout time.Duration
}

// MariaDB is a private MariaDB server with the binlog on. It is safe for
// concurrent use; Stop, Kill and Restart must not race each other.
type MariaDB struct {
	bin, dir, datadir, socket, cnf string
	port                           int
	opts                           MariaDBOptions
	mu                             sync.Mutex
	proc                           *process
}

// The test user every instance gets: all privileges (replication included),
// over TCP. root is left with socket-only access, as the installer makes it.
const (
	mariaUser     = "sluice"
	mariaPassword = "sluice-test"
)

// StartMariaDB initialises a datadir and starts mariadbd on a free port.
// The caller should Remove it; StopAll (run by Main) also does.
func StartMariaDB(ctx context.Context, opts MariaDBOptions) (*MariaDB, error) {
	if opts.ServerID == 0 {
		opts.ServerID = 1
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			return nil, fmt.Errorf("mariadbd not found (Debian package mariadb-server): %w", err)
		}
	}
	dir, err := tempDir("mariadb")
	if err != nil {
		return nil, err
	}
	m := &MariaDB{bin: bin, dir: dir, datadir: filepath.Join(dir, "data"), socket: filepath.Join(dir, "mariadb.sock"),
		cnf: filepath.Join(dir, "my.cnf"), opts: opts}
	if err := m.init(ctx); err != nil {
		m.Remove()
		return nil, err
	}
	register(m.Remove)
	return m, nil
}

func (m *MariaDB) init(ctx context.Context) error {
	var err error
	if m.port, err = FreePort(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(m.dir, "tmp"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(m.cnf, []byte(m.config()), 0o644); err != nil {
		return fmt.Errorf("writing my.cnf: %w", err)
	}
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return fmt.Errorf("mariadb-install-db not found (Debian package mariadb-server): %w", err)
	}
	// normal: root@localhost without password, reachable over the socket,
	// rather than unix_socket auth, which would tie root to the OS user.
	out, err := runTool(ctx, nil, m.dir, install, "--defaults-file="+m.cnf,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--user=root")
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	if err := m.start(ctx); err != nil {
		return err
	}
	return m.createTestUser(ctx)
}

// config is the instance's my.cnf. Durability is relaxed (redo log flushed
// once a second, binlog never fsynced) because a test instance never has
// to survive a machine crash, and a kill -9 of mariadbd, which crash tests
// do, still keeps every committed transaction: the writes are in the OS
// page cache, which outlives the process. The small buffer pool keeps
// several instances within a CI machine's memory.
func (m *MariaDB) config() string {
	lines := []string{
		"[mariadbd]",
		"datadir=" + m.datadir,
		"socket=" + m.socket,
		"port=" + strconv.Itoa(m.port),
		"bind-address=127.0.0.1",
		"pid-file=" + filepath.Join(m.dir, "mariadb.pid"),
		// A private tmpdir: instances of parallel test runs must not share
		// temporary-table files in /tmp.
		"tmpdir=" + filepath.Join(m.dir, "tmp"),
		"user=root",
		"skip-name-resolve",
		"server_id=" + strconv.FormatUint(uint64(m.opts.ServerID), 10),
		"gtid_domain_id=" + strconv.FormatUint(uint64(m.opts.GTIDDomainID), 10),
		"log_bin=" + filepath.Join(m.datadir, "mariadb-bin"),
		"log_slave_updates=ON",
		"binlog_format=ROW",
		"binlog_row_image=FULL",
		"binlog_row_metadata=FULL",
		"gtid_strict_mode=ON",
		"character-set-server=utf8mb4",
		"collation-server=utf8mb4_unicode_ci",
		"default_time_zone='+00:00'",
		"innodb_buffer_pool_size=64M",
		"innodb_log_file_size=32M",
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
		"max_connections=200",
		"max_allowed_packet=256M",
		"performance_schema=OFF",
	}
	lines = append(lines, m.opts.Extra...)
	lines = append(lines, "", "[client]", "default-character-set=utf8mb4", "socket="+m.socket)
	return strings.Join(lines, "\n") + "\n"
}

// start runs mariadbd and waits until root can connect. Without log-error
// mariadbd writes its error log to stderr, which goes to mariadb.log.
func (m *MariaDB) start(ctx context.Context) error {
	p, err := startProcess("mariadbd", m.logPath(), nil, m.bin, "--defaults-file="+m.cnf)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	db, err := sql.Open("mysql", "root@unix("+m.socket+")/")
	if err != nil {
		return err
	}
	defer db.Close()
	return p.waitReady(ctx, m.opts.StartTimeout, db.PingContext)
}

func (m *MariaDB) logPath() string { return filepath.Join(m.dir, "mariadb.log") }

// Addr is host:port of the server.
func (m *MariaDB) Addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// Port is the server's TCP port.
func (m *MariaDB) Port() int { return m.port }

// Socket is the server's unix socket (root may connect there).
func (m *MariaDB) Socket() string { return m.socket }

// User is the all-privileges test user, for TCP connections.
func (m *MariaDB) User() string { return mariaUser }

// Password is the test user's password.
func (m *MariaDB) Password() string { return mariaPassword }

// DSN returns a go-sql-driver DSN for database db ("" for none): utf8mb4,
// server-side prepared statements (interpolateParams off) and temporal
// values as text (parseTime off), which is how capture and apply read
// values exactly. The server's time zone is UTC.
func (m *MariaDB) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = mariaUser, mariaPassword, "tcp", m.Addr(), db
	c.Params = map[string]string{"charset": "utf8mb4"}
	c.Collation = "utf8mb4_unicode_ci"
	c.ParseTime, c.InterpolateParams = false, false
	return c.FormatDSN()
}

// Open opens a connection pool to database db ("" for none).
func (m *MariaDB) Open(db string) (*sql.DB, error) { return sql.Open("mysql", m.DSN(db)) }

// CreateDatabase creates a database with a unique name for tb and returns
// the name. It is not dropped: the instance is deleted at the end.
func (m *MariaDB) CreateDatabase(tb testing.TB) string {
	tb.Helper()
	name := UniqueName(tb)
	db, err := m.Open("")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("creating database %s: %v", name, err)
	}
	return name
}

// GTIDPosition returns @@gtid_binlog_pos, the GTID of the last binlogged
// transaction of each domain.
func (m *MariaDB) GTIDPosition(ctx context.Context) (string, error) {
	return m.queryString(ctx, "SELECT @@gtid_binlog_pos")
}

// Version returns SELECT VERSION().
func (m *MariaDB) Version(ctx context.Context) (string, error) {
	return m.queryString(ctx, "SELECT VERSION()")
}

// BinlogPosition returns the current binlog file and position (SHOW MASTER
// STATUS).
func (m *MariaDB) BinlogPosition(ctx context.Context) (string, uint64, error) {
	db, err := m.Open("")
	if err != nil {
		return "", 0, err
	}
	defer db.Close()
	var file string
	var pos uint64
	var doDB, ignoreDB sql.NullString
	if err := db.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB); err != nil {
		return "", 0, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	return file, pos, nil
}

func (m *MariaDB) queryString(ctx context.Context, q string) (string, error) {
	db, err := m.Open("")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var s string
	if err := db.QueryRowContext(ctx, q).Scan(&s); err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	return s, nil
}

func (m *MariaDB) process() *process {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc
}

// Stop shuts the server down cleanly (SIGTERM), killing it after 30s.
func (m *MariaDB) Stop() { m.process().stop(syscall.SIGTERM, 30*time.Second) }

// Kill crashes the server (SIGKILL), keeping its datadir for Restart.
func (m *MariaDB) Kill() { m.process().kill() }

// Restart stops the server if it runs and starts it again on the same
// datadir and port; after Kill this is crash recovery.
func (m *MariaDB) Restart(ctx context.Context) error {
	m.Stop()
	return m.start(ctx)
}

// Remove stops the server and deletes its directory. It may be called
// more than once.
func (m *MariaDB) Remove() {
	m.Stop()
	_ = os.RemoveAll(m.dir)
}

// LogTail returns the last n lines of the server's error log.
func (m *MariaDB) LogTail(n int) string { return tail(m.logPath(), n) }

var sharedMaria struct {
	once sync.Once
	m    *MariaDB
	err  error
}

func sharedMariaDB() error {
	sharedMaria.once.Do(func() {
		start := time.Now()
		ctx := context.Background()
		sharedMaria.m, sharedMaria.err = StartMariaDB(ctx, MariaDBOptions{})
		if sharedMaria.err == nil {
			v, _ := sharedMaria.m.Version(ctx)
			announce("testenv: MariaDB %s started on %s in %s", v, sharedMaria.m.Addr(), time.Since(start).Round(time.Millisecond))
		}
	})
	return sharedMaria.err
}

// SharedMariaDB returns the package's shared MariaDB, starting it on first
// use. It fails (CI) or skips (locally) when the server cannot start.
func SharedMariaDB(tb testing.TB) *MariaDB {
	tb.Helper()
	skipIfDisabled(tb)
	if err := sharedMariaDB(); err != nil {
		unavailable(tb, "MariaDB", err)
	}
	return sharedMaria.m
}

// NewMariaDB starts a MariaDB of the test's own, removed when the test
// ends; for tests that kill, restart or reconfigure the server.
func NewMariaDB(tb testing.TB, opts MariaDBOptions) *MariaDB {
	tb.Helper()
	skipIfDisabled(tb)
	m, err := StartMariaDB(tb.Context(), opts)
	if err != nil {
		unavailable(tb, "MariaDB", err)
	}
	tb.Cleanup(m.Remove)
	return m
}

// skipIfDisabled skips a server test under SLUICE_TEST_SERVERS=none.
func skipIfDisabled(tb testing.TB) {
	tb.Helper()
	if serversDisabled() {
		tb.Skip("testenv: SLUICE_TEST_SERVERS=none, skipping a test that needs a server")
	}
}

// createTestUser creates the user tests connect as, over root's socket.
func (m *MariaDB) createTestUser(ctx context.Context) error {
	root, err := sql.Open("mysql", "root@unix("+m.socket+")/")
	if err != nil {
		return err
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE USER '" + mariaUser + "'@'%' IDENTIFIED BY '" + mariaPassword + "'",
		"GRANT ALL PRIVILEGES ON *.* TO '" + mariaUser + "'@'%' WITH GRANT OPTION",
	} {
		if _, err := root.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating the test user: %w", err)
		}
	}
	return nil
}
