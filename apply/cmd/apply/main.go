// Command apply consumes Sluice (or genuine Maxwell/Debezium) change
// topics and upserts them into a MySQL/MariaDB or PostgreSQL target,
// committing Kafka offsets only after the target write committed.
//
//	apply run --config apply.yaml
//	apply replay --config apply.yaml --topic T (--offset N | --time RFC3339 | --earliest) [--partition P] [--group G]
//	apply check-config --config apply.yaml   (also: apply --check-config --config ...)
//	apply verify --source-dsn ... --table db.table (--config apply.yaml | --target-kind K --target-dsn ...)
//	apply status --config apply.yaml [--json] [--url http://host:9090]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/app"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

const usage = `apply: Kafka change topics -> MySQL/MariaDB or PostgreSQL, idempotent upserts, offsets after write.

Usage:
  apply run --config apply.yaml
  apply replay --config apply.yaml --topic T (--offset N | --time RFC3339 | --earliest) [--partition P] [--group G]
  apply check-config --config apply.yaml     (same as: apply --check-config --config apply.yaml)
  apply verify --source-kind mysql|mongodb --source-dsn DSN --table db.table
               (--config apply.yaml | --target-kind K --target-dsn DSN [--target-table T])
               [--chunk 1000] [--rate 20000] [--json]      (exit 1: tables differ)
  apply status --config apply.yaml [--json] [--url http://host:9090]

The config file is YAML with ${ENV} references for secrets; see apply/apply.example.yaml.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "--check-config" || cmd == "-check-config" {
		cmd = "check-config"
	}
	switch cmd {
	case "run":
		return runCmd(rest, stderr)
	case "replay":
		return replayCmd(rest, stdout, stderr)
	case "check-config":
		return checkCmd(rest, stdout, stderr)
	case "verify":
		return verifyCmd(rest, stdout, stderr)
	case "status":
		return statusCmd(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "apply: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func load(fs *flag.FlagSet, args []string, stderr io.Writer) (*app.Config, int) {
	path := fs.String("config", "apply.yaml", "config file")
	checkFlag := fs.Bool("check-config", false, "validate the config and exit")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, 2
	}
	var cfg app.Config
	if err := config.Load(*path, &cfg); err != nil {
		fmt.Fprintf(stderr, "apply: %v\n", err)
		return nil, 1
	}
	if *checkFlag {
		fmt.Fprintf(stderr, "apply: config %s is valid\n", *path)
		return nil, 0
	}
	return &cfg, -1
}

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	cfg, code := load(fs, args, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintln(stdout, "config is valid")
	return 0
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

func runCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfg, code := load(fs, args, stderr)
	if cfg == nil {
		return code
	}
	log, err := obs.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintf(stderr, "apply: %v\n", err)
		return 1
	}
	defer log.Sync()
	ctx, stop := signalContext()
	defer stop()
	// A shutdown that outlives its deadline exits non-zero: whatever was
	// not committed is redelivered, so nothing is lost, but it is worth a
	// look.
	context.AfterFunc(ctx, func() {
		time.AfterFunc(cfg.ShutdownTimeout, func() {
			log.Error("graceful shutdown exceeded shutdown_timeout; exiting", zap.Duration("shutdown_timeout", cfg.ShutdownTimeout))
			os.Exit(1)
		})
	})
	if err := app.Run(ctx, cfg, log, app.Options{}); err != nil {
		log.Error("apply failed", zap.Error(err))
		fmt.Fprintf(stderr, "apply: %v\n", err)
		return 1
	}
	return 0
}

func replayCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var r app.Replay
	var at, group string
	var offset int64 = -1
	var partition int
	fs.StringVar(&r.Topic, "topic", "", "topic to replay (required)")
	fs.StringVar(&group, "group", "", "consumer group (default: the config's)")
	fs.Int64Var(&offset, "offset", -1, "replay from this offset")
	fs.StringVar(&at, "time", "", "replay from the first record at or after this time (RFC 3339)")
	fs.BoolVar(&r.Earliest, "earliest", false, "replay from the start of the topic")
	fs.IntVar(&partition, "partition", -1, "only this partition (default: all)")
	cfg, code := load(fs, args, stderr)
	if cfg == nil {
		return code
	}
	if r.Topic == "" {
		fmt.Fprintln(stderr, "apply replay: --topic is required")
		return 2
	}
	r.Group, r.Partition = group, int32(partition)
	if offset >= 0 {
		r.Offset, r.HasOffset = offset, true
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			fmt.Fprintf(stderr, "apply replay: --time %q: want RFC 3339, e.g. 2026-11-23T10:00:00Z\n", at)
			return 2
		}
		r.Time = t
	}
	log, err := obs.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintf(stderr, "apply: %v\n", err)
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	set, err := app.RunReplay(ctx, cfg, r, log)
	if err != nil {
		fmt.Fprintf(stderr, "apply replay: %v\n", err)
		if errors.Is(err, app.ErrGroupActive) {
			return 3
		}
		return 1
	}
	for p, o := range set {
		fmt.Fprintf(stdout, "%s partition %d -> offset %d\n", r.Topic, p, o)
	}
	return 0
}
