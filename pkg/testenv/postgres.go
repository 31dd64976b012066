package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver for Open
)

// PostgresOptions tunes a private PostgreSQL instance.
type PostgresOptions struct {
	// BinDir holds initdb and postgres (default SLUICE_PG_BIN, else
	// Debian's /usr/lib/postgresql/15/bin).
	BinDir string
	// Settings are extra server settings, name=value, passed as -c.
	Settings []string
	// StartTimeout bounds start-up and restart (default 60s).
	StartTimeout time.Duration
}

// Postgres is a private PostgreSQL server.
//
// PostgreSQL refuses to run as root. When the tests run as root (as in CI
// here), initdb and the server run as the unprivileged "postgres" system
// user that Debian's postgresql package creates (setuid through
// SysProcAttr.Credential, like runuser would), in a temporary directory
// chowned to that user. Clients connect over TCP with trust auth as the
// "postgres" superuser.
type Postgres struct {
	bin, dir, datadir string
	port              int
	opts              PostgresOptions
	cred              *syscall.Credential
	mu                sync.Mutex
	proc              *process
}

// StartPostgres runs initdb and starts postgres on a free port. The caller
// should Remove it; StopAll (run by Main) also does.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.BinDir == "" {
		opts.BinDir = os.Getenv("SLUICE_PG_BIN")
	}
	if opts.BinDir == "" {
		opts.BinDir = "/usr/lib/postgresql/15/bin"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if _, err := os.Stat(filepath.Join(opts.BinDir, "initdb")); err != nil {
		return nil, fmt.Errorf("initdb not found in %s (Debian package postgresql): %w", opts.BinDir, err)
	}
	dir, err := tempDir("postgres")
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: opts.BinDir, dir: dir, datadir: filepath.Join(dir, "data"), opts: opts}
	if err := p.init(ctx); err != nil {
		p.Remove()
		return nil, err
	}
	register(p.Remove)
	return p, nil
}

func (p *Postgres) init(ctx context.Context) error {
	var err error
	if p.port, err = FreePort(); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres system user (Debian package postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// MkdirTemp makes the directory 0700 for root; postgres must own
		// it to create the datadir and its socket there.
		if err := os.Chown(p.dir, uid, gid); err != nil {
			return fmt.Errorf("handing %s to the postgres user: %w", p.dir, err)
		}
	}
	// --no-sync: the cluster is thrown away after the run.
	out, err := runTool(ctx, p.cred, p.dir, filepath.Join(p.bin, "initdb"), "-D", p.datadir, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return p.start(ctx)
}

// start runs postgres in the foreground as our child rather than through
// pg_ctl, which would daemonize it: as a child it is in our process group,
// gets the parent-death signal, and Kill can crash it. Durability is off
// (fsync, synchronous_commit, full_page_writes): test data never has to
// survive a machine crash.
func (p *Postgres) start(ctx context.Context) error {
	args := []string{"-D", p.datadir, "-p", strconv.Itoa(p.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB",
		"-c", "timezone=UTC"}
	for _, s := range p.opts.Settings {
		args = append(args, "-c", s)
	}
	proc, err := startProcess("postgres", p.logPath(), p.cred, filepath.Join(p.bin, "postgres"), args...)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	return proc.waitReady(ctx, p.opts.StartTimeout, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, p.DSN("postgres"))
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
}

func (p *Postgres) logPath() string { return filepath.Join(p.dir, "postgres.log") }

// Addr is host:port of the server.
func (p *Postgres) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// Port is the server's TCP port.
func (p *Postgres) Port() int { return p.port }

// DSN returns a pgx connection string (URL form, also accepted by
// pgxpool.New and libpq) for database db as the postgres superuser.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// Connect opens a pgx connection to database db.
func (p *Postgres) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, p.DSN(db))
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres database %s: %w", db, err)
	}
	return c, nil
}

// Open opens a database/sql pool to database db through pgx's stdlib
// driver.
func (p *Postgres) Open(db string) (*sql.DB, error) { return sql.Open("pgx", p.DSN(db)) }

// CreateDatabase creates a uniquely named database for tb and returns the
// name.
func (p *Postgres) CreateDatabase(tb testing.TB) string {
	tb.Helper()
	name := UniqueName(tb)
	ctx := tb.Context()
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

func (p *Postgres) process() *process {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc
}

// Stop shuts the server down with a fast shutdown (SIGINT to the
// postmaster; SIGTERM would wait for clients to disconnect).
func (p *Postgres) Stop() {
	proc := p.process()
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

// Kill crashes the server and its backends (SIGKILL to the group).
func (p *Postgres) Kill() { p.process().kill() }

// Restart stops the server if it runs and starts it on the same data
// directory and port; after Kill this is crash recovery.
func (p *Postgres) Restart(ctx context.Context) error {
	p.Stop()
	return p.start(ctx)
}

// Remove stops the server and deletes its directory. It may be called
// more than once.
func (p *Postgres) Remove() {
	p.Stop()
	_ = os.RemoveAll(p.dir)
}

// LogTail returns the last n lines of the server log.
func (p *Postgres) LogTail(n int) string { return tail(p.logPath(), n) }

var sharedPG struct {
	once sync.Once
	p    *Postgres
	err  error
}

func sharedPostgres() error {
	sharedPG.once.Do(func() {
		start := time.Now()
		ctx := context.Background()
		sharedPG.p, sharedPG.err = StartPostgres(ctx, PostgresOptions{})
		if sharedPG.err != nil {
			return
		}
		var v string
		if c, err := sharedPG.p.Connect(ctx, "postgres"); err == nil {
			_ = c.QueryRow(ctx, "SHOW server_version").Scan(&v)
			_ = c.Close(ctx)
		}
		announce("testenv: PostgreSQL %s started on %s in %s", v, sharedPG.p.Addr(), time.Since(start).Round(time.Millisecond))
	})
	return sharedPG.err
}

// SharedPostgres returns the package's shared PostgreSQL, starting it on
// first use; it fails (CI) or skips (locally) when it cannot start.
func SharedPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	skipIfDisabled(tb)
	if err := sharedPostgres(); err != nil {
		unavailable(tb, "PostgreSQL", err)
	}
	return sharedPG.p
}

// NewPostgres starts a PostgreSQL of the test's own, removed when the
// test ends.
func NewPostgres(tb testing.TB, opts PostgresOptions) *Postgres {
	tb.Helper()
	skipIfDisabled(tb)
	p, err := StartPostgres(tb.Context(), opts)
	if err != nil {
		unavailable(tb, "PostgreSQL", err)
	}
	tb.Cleanup(p.Remove)
	return p
}
