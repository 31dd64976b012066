// Command ferretdb runs FerretDB v1 embedded with its SQLite backend as a
// MongoDB wire-protocol server on a loopback port, for Sluice's apply
// tests (pkg/testenv.FerretDB builds and starts it).
//
// It is its own Go module, outside go.work, so FerretDB's dependency tree
// (SQLite in pure Go, PostgreSQL and HANA drivers, OpenTelemetry) stays
// out of the pkg, capture and apply modules. Build it with
//
//	GOWORK=off go build -o ferretdb .
//
// FerretDB v1 has no transactions, no Decimal128 and no change streams;
// tests that need those run against a real replica set
// (SLUICE_TEST_MONGO_URI).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory of the SQLite databases (required)")
	level := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()
	if err := run(*listen, *dir, *level); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir, level string) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The harness waits for this line before connecting.
	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data in %s\n", listen, abs)
	err = f.Run(ctx)
	if ctx.Err() != nil {
		return nil // stopped by signal
	}
	return err
}
