// Command capture streams MySQL/MariaDB binlog changes into per-table
// Kafka topics, exactly once. It is a thin shell over internal/app:
// subcommands and flags here, everything else there.
//
//	capture run --config capture.yaml [--from earliest|latest|gtid:<set>|file:<name>:<pos>] [--no-transactions]
//	capture doctor --config capture.yaml
//	capture check-config --config capture.yaml   (also: capture --check-config --config ...)
//	capture add-partitions --config capture.yaml --topic T --partitions N [--barrier-only]
//	capture snapshot --config capture.yaml --table db.t [--table ...]
//	capture status --config capture.yaml [--url http://host:9090] [--json]
//
// Exit status: 0 after a clean run (SIGTERM/SIGINT stop it gracefully) or
// a passing check, 1 when capture or a check failed, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/app"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

const usage = `capture: MySQL/MariaDB binlog -> per-table Kafka topics, exactly once.

Usage:
  capture run --config capture.yaml [flags]     capture until SIGTERM/SIGINT, then commit and exit 0
      --from SPEC          start here instead of the stored position, once:
                           earliest, latest, gtid:<set>, file:<name>:<pos>
      --no-transactions    at-least-once delivery without Kafka transactions
      --listen HOST:PORT   metrics and health address (overrides http.listen)
      --log-level LEVEL    debug, info, warn or error (overrides log.level)
  capture doctor --config capture.yaml          preflight checks of the source; exit 1 if a fatal one fails
  capture check-config --config capture.yaml    validate the config, print every problem; exit 0 or 1
                                                (same as: capture --check-config --config capture.yaml)
  capture add-partitions --config capture.yaml --topic T --partitions N [--barrier-only]
                                                grow a topic without breaking per-key order (stop capture first)
  capture snapshot --config capture.yaml --table db.t [--table ...]
                                                ask the running capture to snapshot tables (via <prefix>.signals)
  capture status --config capture.yaml [--url http://host:9090] [--json]
                                                stored position, snapshot progress, pending signals, topic
                                                end offsets; with --url: source lag, events/s, readiness
  capture help                                  this text

The config file is YAML with ${ENV} references for secrets; see capture/capture.example.yaml.
Flags override the file.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if isCheckFlag(cmd) {
		cmd = "check-config"
	} else if strings.HasPrefix(cmd, "-") && slices.ContainsFunc(args, isCheckFlag) {
		// capture --config x.yaml --check-config
		cmd, rest = "check-config", slices.DeleteFunc(slices.Clone(args), isCheckFlag)
	}
	switch cmd {
	case "run":
		return runCmd(rest, stdout, stderr)
	case "doctor":
		return doctorCmd(rest, stdout, stderr)
	case "check-config":
		return checkCmd(rest, stdout, stderr)
	case "add-partitions":
		return addPartitionsCmd(rest, stdout, stderr)
	case "snapshot":
		return snapshotCmd(rest, stdout, stderr)
	case "status":
		return statusCmd(rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "capture: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func isCheckFlag(a string) bool { return a == "--check-config" || a == "-check-config" }

// parse parses a subcommand's flags, including --config; ok is false with
// the exit code when the command must stop (usage error, or -h).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (path string, code int, ok bool) {
	p := fs.String("config", "capture.yaml", "config file (YAML)")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0, false
		}
		return "", 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "capture %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return "", 2, false
	}
	return *p, 0, true
}

// configFrom parses a subcommand's flags and loads its config; ok is false
// with the exit code when the command must stop.
func configFrom(fs *flag.FlagSet, args []string, stderr io.Writer) (cfg *app.Config, code int, ok bool) {
	path, code, ok := parse(fs, args, stderr)
	if !ok {
		return nil, code, false
	}
	if cfg, ok = load(path, stderr); !ok {
		return nil, 1, false
	}
	return cfg, 0, true
}

// load reads and validates the config, printing every problem.
func load(path string, stderr io.Writer) (*app.Config, bool) {
	var cfg app.Config
	if err := config.Load(path, &cfg); err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return nil, false
	}
	return &cfg, true
}

func checkCmd(args []string, stdout, stderr io.Writer) int {
	path, code, ok := parse(flag.NewFlagSet("check-config", flag.ContinueOnError), args, stderr)
	if !ok {
		return code
	}
	if _, ok := load(path, stderr); !ok {
		return 1
	}
	fmt.Fprintf(stdout, "config %s is valid\n", path)
	return 0
}

// signalContext ends on the first SIGTERM or SIGINT; a second one gets the
// default behaviour (the process dies at once), for an operator who does
// not want to wait for the graceful stop.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

func doctorCmd(args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := configFrom(flag.NewFlagSet("doctor", flag.ContinueOnError), args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signalContext()
	defer stop()
	rep := app.Doctor(ctx, cfg)
	for _, c := range rep.Checks {
		fmt.Fprintln(stdout, c.String())
	}
	if rep.Fatal() != nil {
		fmt.Fprintln(stderr, "capture doctor: a fatal check failed; capture refuses to start until it passes")
		return 1
	}
	return 0
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var ov app.Overrides
	from := fs.String("from", "", "start here instead of the stored position: earliest, latest, gtid:<set>, file:<name>:<pos>; MongoDB: latest, time:<RFC3339>, token:<resume token>")
	fs.BoolVar(&ov.NoTransactions, "no-transactions", false, "at-least-once delivery without Kafka transactions")
	fs.StringVar(&ov.Listen, "listen", "", "metrics and health address, host:port (overrides http.listen)")
	fs.StringVar(&ov.LogLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	checkOnly := fs.Bool("check-config", false, "validate the config and flags, then exit")
	cfg, code, ok := configFrom(fs, args, stderr)
	if !ok {
		return code
	}
	if err := cfg.Apply(ov); err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return 1
	}
	if *from != "" {
		if err := app.CheckStart(cfg, *from); err != nil {
			fmt.Fprintf(stderr, "capture: %v\n", err)
			return 2
		}
	}
	if *checkOnly {
		fmt.Fprintf(stdout, "config %s is valid\n", fs.Lookup("config").Value)
		return 0
	}
	log, err := obs.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return 1
	}
	defer log.Sync() //nolint:errcheck // stderr; nothing to do about a failed sync
	ctx, stop := signalContext()
	defer stop()
	context.AfterFunc(ctx, func() {
		// The pipeline bounds its own shutdown by shutdown_timeout; this is
		// the last resort should something hang past it.
		time.AfterFunc(cfg.ShutdownTimeout+10*time.Second, func() {
			log.Error("graceful shutdown exceeded shutdown_timeout by 10s; exiting")
			fmt.Fprintln(stderr, "capture: graceful shutdown exceeded shutdown_timeout; exiting")
			os.Exit(1)
		})
	})
	if err := app.Run(ctx, cfg, log, app.Options{From: *from}); err != nil {
		fmt.Fprintf(stderr, "capture: %s\n", app.ErrorLine(cfg, err))
		return 1
	}
	return 0
}

func addPartitionsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("add-partitions", flag.ContinueOnError)
	topic := fs.String("topic", "", "topic to grow (required)")
	n := fs.Int("partitions", 0, "new partition count (required)")
	barrierOnly := fs.Bool("barrier-only", false, "only write the barrier of an earlier run whose last step failed")
	path, code, ok := parse(fs, args, stderr)
	if !ok {
		return code
	}
	if *topic == "" || *n < 1 {
		fmt.Fprintln(stderr, "capture add-partitions: --topic and --partitions are required")
		return 2
	}
	cfg, ok := load(path, stderr)
	if !ok {
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := app.AddPartitions(ctx, cfg, *topic, int32(*n), *barrierOnly)
	if err != nil {
		fmt.Fprintf(stderr, "capture add-partitions: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d -> %d partitions, barrier %s written to every partition; start capture again\n", *topic, res.From, res.To, res.Barrier)
	return 0
}

// tableList is a repeatable --table flag.
type tableList []string

func (t *tableList) String() string { return strings.Join(*t, ",") }
func (t *tableList) Set(v string) error {
	if i := strings.IndexByte(v, '.'); i <= 0 || i == len(v)-1 {
		return fmt.Errorf("%q: want db.table", v)
	}
	*t = append(*t, v)
	return nil
}

func snapshotCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	var tables tableList
	fs.Var(&tables, "table", "db.table to snapshot (repeatable, required)")
	path, code, ok := parse(fs, args, stderr)
	if !ok {
		return code
	}
	if len(tables) == 0 {
		fmt.Fprintln(stderr, "capture snapshot: at least one --table db.table is required")
		return 2
	}
	cfg, ok := load(path, stderr)
	if !ok {
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	topic, off, err := app.RequestSnapshot(ctx, cfg, tables)
	if err != nil {
		fmt.Fprintf(stderr, "capture snapshot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "snapshot of %s requested (topic %s offset %d); the running capture %s picks it up\n", tables.String(), topic, off, cfg.Name)
	return 0
}
