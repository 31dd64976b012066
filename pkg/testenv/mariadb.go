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
	// Extra lines appended to the [mariadbd] section, e.g.
	// "binlog_row_image=MINIMAL" or Galera settings.
	Extra []string
	// StartTimeout bounds start-up (default 60s).
	StartTimeout time.Duration
}

// MariaDB is a private MariaDB server with the binlog on.
type MariaDB struct {
	bin, dir, datadir, socket, cnf string
	port                           int
	opts                           MariaDBOptions
	proc                           *process
	mu                             sync.Mutex
}

// The test user every instance gets; it has all privileges, including
// replication, and connects over TCP.
const (
	mariaUser     = "sluice"
	mariaPassword = "sluice-test"
)

// StartMariaDB initialises a datadir and starts mariadbd on a free port.
// The caller must Stop it (Shared* instances are stopped by Main).
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
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MariaDB{bin: bin, dir: dir, datadir: filepath.Join(dir, "data"), socket: filepath.Join(dir, "mariadb.sock"),
		cnf: filepath.Join(dir, "my.cnf"), port: port, opts: opts}
	if err := os.WriteFile(m.cnf, []byte(m.config()), 0o644); err != nil {
		return nil, err
	}
	install := exec.CommandContext(ctx, "mariadb-install-db", "--defaults-file="+m.cnf,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--user=root")
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	if err := m.start(ctx); err != nil {
		return nil, err
	}
	// root can only use the socket; tests and services use a TCP user.
	root, err := sql.Open("mysql", "root@unix("+m.socket+")/")
	if err != nil {
		m.Stop()
		return nil, err
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE USER '" + mariaUser + "'@'%' IDENTIFIED BY '" + mariaPassword + "'",
		"GRANT ALL PRIVILEGES ON *.* TO '" + mariaUser + "'@'%' WITH GRANT OPTION",
	} {
		if _, err := root.ExecContext(ctx, q); err != nil {
			m.Stop()
			return nil, fmt.Errorf("creating test user: %w", err)
		}
	}
	return m, nil
}

// config is the instance's my.cnf. Durability settings are relaxed
// (flush at commit off, no binlog fsync): a test instance never survives a
// machine crash, and kill -9 of mariadbd still keeps committed data because
// the OS page cache survives a process crash.
func (m *MariaDB) config() string {
	lines := []string{
		"[mariadbd]",
		"datadir=" + m.datadir,
		"socket=" + m.socket,
		"port=" + strconv.Itoa(m.port),
		"bind-address=127.0.0.1",
		"pid-file=" + filepath.Join(m.dir, "mariadb.pid"),
		"log-error=" + filepath.Join(m.dir, "error.log"),
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
		"innodb_log_file_size=64M",
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

func (m *MariaDB) start(ctx context.Context) error {
	p, err := startProcess("mariadb", filepath.Join(m.dir, "mariadbd.out"), nil, m.bin, "--defaults-file="+m.cnf)
	if err != nil {
		return err
	}
	p.logPath = filepath.Join(m.dir, "error.log")
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	db, err := sql.Open("mysql", "root@unix("+m.socket+")/")
	if err != nil {
		return err
	}
	defer db.Close()
	return waitUntil(ctx, p, m.opts.StartTimeout, db.PingContext)
}

// Addr is host:port of the server.
func (m *MariaDB) Addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// Port is the server's TCP port.
func (m *MariaDB) Port() int { return m.port }

// User and Password are the credentials of the all-privileges test user.
func (m *MariaDB) User() string     { return mariaUser }
func (m *MariaDB) Password() string { return mariaPassword }

// DSN returns a go-sql-driver DSN for database db ("" for none): utf8mb4,
// UTC, server-side prepared statements, temporal values as text.
func (m *MariaDB) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = mariaUser, mariaPassword, "tcp", m.Addr(), db
	c.Params = map[string]string{"charset": "utf8mb4", "time_zone": "'+00:00'"}
	c.Collation = "utf8mb4_unicode_ci"
	return c.FormatDSN()
}

// Open opens a connection pool to database db.
func (m *MariaDB) Open(db string) (*sql.DB, error) { return sql.Open("mysql", m.DSN(db)) }

// CreateDatabase creates a database with a unique name for tb and returns
// the name.
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
// transaction per domain.
func (m *MariaDB) GTIDPosition(ctx context.Context) (string, error) {
	return m.queryString(ctx, "SELECT @@gtid_binlog_pos")
}

// BinlogPosition returns the current binlog file and position.
func (m *MariaDB) BinlogPosition(ctx context.Context) (string, uint64, error) {
	db, err := m.Open("")
	if err != nil {
		return "", 0, err
	}
	defer db.Close()
	var file string
	var pos uint64
	var doDB, ignoreDB sql.NullString
	err = db.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB)
	return file, pos, err
}

func (m *MariaDB) queryString(ctx context.Context, q string) (string, error) {
	db, err := m.Open("")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var s string
	err = db.QueryRowContext(ctx, q).Scan(&s)
	return s, err
}

// Stop shuts the server down cleanly.
func (m *MariaDB) Stop() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	p.stop(30 * time.Second)
}

// Kill crashes the server (SIGKILL), keeping its datadir for Restart.
func (m *MariaDB) Kill() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	p.kill()
}

// Restart starts a stopped or killed server again on the same datadir and
// port.
func (m *MariaDB) Restart(ctx context.Context) error {
	m.Stop()
	return m.start(ctx)
}

// Remove stops the server and deletes its directory.
func (m *MariaDB) Remove() {
	m.Stop()
	_ = os.RemoveAll(m.dir)
}

// LogTail returns the last n lines of the server's error log.
func (m *MariaDB) LogTail(n int) string { return tail(filepath.Join(m.dir, "error.log"), n) }

var (
	sharedMariaOnce sync.Once
	sharedMaria     *MariaDB
	sharedMariaErr  error
)

// SharedMariaDB returns the package's shared MariaDB, starting it on first
// use. It fails (CI) or skips (locally) when the server cannot start.
func SharedMariaDB(tb testing.TB) *MariaDB {
	tb.Helper()
	sharedMariaOnce.Do(func() {
		start := time.Now()
		sharedMaria, sharedMariaErr = StartMariaDB(context.Background(), MariaDBOptions{})
		if sharedMariaErr == nil {
			register(sharedMaria.Remove)
			v, _ := sharedMaria.queryString(context.Background(), "SELECT VERSION()")
			fmt.Fprintf(os.Stderr, "testenv: MariaDB %s started on %s in %s\n", v, sharedMaria.Addr(), time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedMariaErr != nil {
		unavailable(tb, "MariaDB", sharedMariaErr)
	}
	return sharedMaria
}
