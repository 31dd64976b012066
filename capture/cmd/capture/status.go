package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sluice-cdc/sluice/capture/internal/status"
)

// statusCmd prints the capture's stored position, snapshot progress,
// pending signals and topic end offsets; with --url also the running
// process's lag, rate and readiness. It writes nothing.
func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	url := fs.String("url", "", "metrics/health address of the running capture, e.g. http://host:9090")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	cfg, code, ok := configFrom(fs, args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signalContext()
	defer stop()
	rep, err := status.Collect(ctx, cfg, status.Options{URL: *url})
	if err != nil {
		fmt.Fprintf(stderr, "capture status: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "capture status: %v\n", err)
			return 1
		}
		return 0
	}
	rep.WriteText(stdout, time.Now())
	return 0
}
