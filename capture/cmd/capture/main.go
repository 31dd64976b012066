// Command capture streams MySQL/MariaDB binlog changes into per-table
// Kafka topics, exactly once.
//
//	capture run --config capture.yaml [--from earliest|latest|gtid:<set>|file:<name>:<pos>] [--no-transactions]
//	capture doctor --config capture.yaml
//	capture check-config --config capture.yaml   (also: capture --check-config --config ...)
//	capture add-partitions --config capture.yaml --topic T --partitions N [--barrier-only]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/service"
	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/obs"
	"github.com/sluice-cdc/sluice/pkg/position"
)

const usage = `capture: MySQL/MariaDB binlog -> per-table Kafka topics, exactly once.

Usage:
  capture run --config capture.yaml [--from earliest|latest|gtid:<set>|file:<name>:<pos>] [--no-transactions]
  capture doctor --config capture.yaml          preflight checks of the source, exit 1 on a fatal one
  capture check-config --config capture.yaml    (same as: capture --check-config --config capture.yaml)
  capture add-partitions --config capture.yaml --topic T --partitions N [--barrier-only]
                                                grow a topic without breaking per-key order (stop capture first)

The config file is YAML with ${ENV} references for secrets; see capture/capture.example.yaml.
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
	case "doctor":
		return doctorCmd(rest, stdout, stderr)
	case "check-config":
		return checkCmd(rest, stdout, stderr)
	case "add-partitions":
		return addPartitionsCmd(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "capture: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func load(fs *flag.FlagSet, args []string, stderr io.Writer) (*service.Config, int) {
	path := fs.String("config", "capture.yaml", "config file")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, 2
	}
	var cfg service.Config
	if err := config.Load(*path, &cfg); err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return nil, 1
	}
	return &cfg, 0
}

func checkCmd(args []string, stdout, stderr io.Writer) int {
	cfg, code := load(flag.NewFlagSet("check-config", flag.ContinueOnError), args, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintln(stdout, "config is valid")
	return 0
}

func doctorCmd(args []string, stdout, stderr io.Writer) int {
	cfg, code := load(flag.NewFlagSet("doctor", flag.ContinueOnError), args, stderr)
	if cfg == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	checks := service.Doctor(ctx, cfg)
	for _, c := range checks {
		fmt.Fprintln(stdout, c.String())
	}
	if err := service.Fatal(checks); err != nil {
		fmt.Fprintln(stderr, "capture doctor: fatal checks failed; capture refuses to start until they pass")
		return 1
	}
	return 0
}

func runCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var o service.Options
	fs.StringVar(&o.From, "from", "", "start here instead of the stored position: earliest, latest, gtid:<set>, file:<name>:<pos>")
	fs.BoolVar(&o.NoTransactions, "no-transactions", false, "at-least-once delivery without Kafka transactions")
	cfg, code := load(fs, args, stderr)
	if cfg == nil {
		return code
	}
	if o.From != "" {
		if _, err := position.ParseFrom(o.From); err != nil {
			fmt.Fprintf(stderr, "capture: --from: %v\n", err)
			return 2
		}
	}
	log, err := obs.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return 1
	}
	defer log.Sync() //nolint:errcheck
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	context.AfterFunc(ctx, func() {
		// The pipeline bounds its own shutdown; this is the last resort.
		time.AfterFunc(cfg.ShutdownTimeout+10*time.Second, func() {
			log.Error("graceful shutdown exceeded shutdown_timeout; exiting")
			os.Exit(1)
		})
	})
	if err := service.Run(ctx, cfg, log, service.Options{From: o.From, NoTransactions: o.NoTransactions}); err != nil {
		log.Error("capture failed", zap.Error(err))
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return 1
	}
	return 0
}

func addPartitionsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("add-partitions", flag.ContinueOnError)
	topic := fs.String("topic", "", "topic to grow (required)")
	n := fs.Int("partitions", 0, "new partition count (required)")
	barrierOnly := fs.Bool("barrier-only", false, "only write the barrier of an earlier run whose last step failed")
	cfg, code := load(fs, args, stderr)
	if cfg == nil {
		return code
	}
	if *topic == "" || *n < 1 {
		fmt.Fprintln(stderr, "capture add-partitions: --topic and --partitions are required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	res, err := service.AddPartitions(ctx, cfg, *topic, int32(*n), *barrierOnly)
	if err != nil {
		fmt.Fprintf(stderr, "capture add-partitions: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d -> %d partitions, barrier %s written to every partition; start capture again\n", *topic, res.From, res.To, res.Barrier)
	return 0
}
