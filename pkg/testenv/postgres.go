package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBinDir is where Debian's postgresql package puts the server binaries.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// Postgres is a private PostgreSQL server. PostgreSQL refuses to run as
// root, so when the tests run as root (as in CI here) the server runs as
// the unprivileged "postgres" user that Debian's package creates, in a
// directory owned by that user.
type Postgres struct {
	dir, datadir string
	port         int
	cred         *syscall.Credential
	proc         *process
	mu           sync.Mutex
}

// StartPostgres runs initdb and starts postgres on a free port.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin := os.Getenv("SLUICE_PG_BIN")
	if bin == "" {
		bin = pgBinDir
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		return nil, fmt.Errorf("initdb not found in %s (Debian package postgresql): %w", bin, err)
	}
	dir, err := tempDir("postgres")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir, datadir: filepath.Join(dir, "data"), port: port}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		// The temp root may not be traversable by postgres.
		_ = os.Chmod(dir, 0o755)
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", p.datadir, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := p.start(ctx, bin); err != nil {
		return nil, err
	}
	return p, nil
}

// start runs postgres in the foreground as our child (rather than pg_ctl's
// daemon) so it is in our process group and dies with the test binary.
// Durability is off (fsync, full pages): test data never outlives the run.
func (p *Postgres) start(ctx context.Context, bin string) error {
	logPath := filepath.Join(p.dir, "postgres.log")
	if p.cred != nil {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
		}
	}
	proc, err := startProcess("postgres", logPath, p.cred, filepath.Join(bin, "postgres"),
		"-D", p.datadir, "-p", strconv.Itoa(p.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	return waitUntil(ctx, proc, 60*time.Second, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, p.DSN("postgres"))
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
}

// Addr is host:port of the server.
func (p *Postgres) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// DSN returns a pgx connection string for database db.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// Connect opens a pgx connection to database db.
func (p *Postgres) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, p.DSN(db))
}

// CreateDatabase creates a uniquely named database for tb.
func (p *Postgres) CreateDatabase(tb testing.TB) string {
	tb.Helper()
	name := UniqueName(tb)
	ctx := context.Background()
	c, err := p.Connect(ctx, "postgres")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("creating database %s: %v", name, err)
	}
	return name
}

// Stop shuts the server down with a fast shutdown (SIGINT): SIGTERM would
// be a smart shutdown that waits for clients to leave.
func (p *Postgres) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc == nil || proc.exited() {
		return
	}
	_ = syscall.Kill(proc.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-proc.done:
	case <-time.After(20 * time.Second):
		proc.kill()
	}
}

// Remove stops the server and deletes its directory.
func (p *Postgres) Remove() {
	p.Stop()
	_ = os.RemoveAll(p.dir)
}

// LogTail returns the last n lines of the server log.
func (p *Postgres) LogTail(n int) string { return tail(filepath.Join(p.dir, "postgres.log"), n) }

var (
	sharedPGOnce sync.Once
	sharedPG     *Postgres
	sharedPGErr  error
)

// SharedPostgres returns the package's shared PostgreSQL, starting it on
// first use; fails (CI) or skips (locally) when it cannot start.
func SharedPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	sharedPGOnce.Do(func() {
		start := time.Now()
		sharedPG, sharedPGErr = StartPostgres(context.Background())
		if sharedPGErr == nil {
			register(sharedPG.Remove)
			var v string
			ctx := context.Background()
			if c, err := sharedPG.Connect(ctx, "postgres"); err == nil {
				_ = c.QueryRow(ctx, "SHOW server_version").Scan(&v)
				c.Close(ctx)
			}
			fmt.Fprintf(os.Stderr, "testenv: PostgreSQL %s started on %s in %s\n", v, sharedPG.Addr(), time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedPGErr != nil {
		unavailable(tb, "PostgreSQL", sharedPGErr)
	}
	return sharedPG
}
