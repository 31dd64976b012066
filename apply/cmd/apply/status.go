package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/sluice-cdc/sluice/apply/internal/status"
)

// statusCmd prints the group's offsets, lag, members and stopped
// partitions; exit 1 when it cannot reach Kafka or the config is bad.
func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print JSON for scripts")
	url := fs.String("url", "", "the service's metrics/health address, e.g. http://apply:9090, to show stopped partitions from /readyz")
	cfg, code := load(fs, args, stderr)
	if cfg == nil {
		return code
	}
	ctx, stop := signalContext()
	defer stop()
	rep, err := status.Collect(ctx, cfg, status.Options{URL: *url})
	if err != nil {
		fmt.Fprintf(stderr, "apply status: %v\n", err)
		return 1
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return 0
	}
	rep.WriteText(stdout)
	return 0
}
