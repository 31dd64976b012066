package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sluice-cdc/sluice/apply/internal/app"
	"github.com/sluice-cdc/sluice/apply/internal/verify"
	"github.com/sluice-cdc/sluice/pkg/config"
)

const verifyUsage = `apply verify: compare a source table with its target table.

  apply verify --source-kind mysql --source-dsn '${SOURCE_DSN}' --table shop.orders --config apply.yaml
  apply verify --source-kind mysql --source-dsn '${SOURCE_DSN}' --table shop.orders \
               --target-kind postgres --target-dsn '${TARGET_DSN}' --target-table public.orders
  apply verify --source-kind mongodb --source-dsn '${SRC_URI}' --table shop.orders \
               --target-kind mongodb --target-dsn '${DST_URI}' [--target-table shop2.orders]

DSNs may be ${VAR} references (expanded here, so they stay out of shell
history and ps); they are never printed. With --config the target and the
table's mapping (rename, include/exclude, static columns) come from apply's
config. Exit status: 0 equal, 1 differences found, 2 error.
`

func verifyCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, verifyUsage); fs.PrintDefaults() }
	var sp verify.Spec
	var opt verify.Options
	var table, targetTable, cfgPath, srcDSN, dstDSN string
	var jsonOut, quiet bool
	fs.StringVar(&sp.Source.Kind, "source-kind", "mysql", "mysql (also mariadb) or mongodb")
	fs.StringVar(&srcDSN, "source-dsn", "", "source DSN or Mongo URI; ${VAR} is expanded (required)")
	fs.StringVar(&table, "table", "", "source db.table or db.collection (required)")
	fs.StringVar(&cfgPath, "config", "", "apply config: target kind, DSN, zero_dates and mapping")
	fs.StringVar(&sp.Target.Kind, "target-kind", "", "mysql, postgres or mongodb (without --config)")
	fs.StringVar(&dstDSN, "target-dsn", "", "target DSN or Mongo URI; ${VAR} is expanded (without --config)")
	fs.StringVar(&targetTable, "target-table", "", "target [schema.]table (default: from the mapping, else the source's name)")
	fs.StringVar(&sp.ZeroDates, "zero-dates", "", "the target's zero_dates policy: keep or null (default: the config's; null for postgres)")
	fs.IntVar(&opt.Chunk, "chunk", 1000, "source rows per checksummed key range")
	fs.IntVar(&opt.Rate, "rate", 20000, "rows read per second, both sides together (0: unlimited)")
	fs.IntVar(&opt.MaxDiffs, "max-diffs", 100, "differing keys listed per kind (counts are always exact)")
	fs.DurationVar(&opt.ProgressEvery, "progress", 5*time.Second, "progress line interval on stderr")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(f string, a ...any) int { fmt.Fprintf(stderr, "apply verify: "+f+"\n", a...); return 2 }
	db, tb, ok := strings.Cut(table, ".")
	if !ok || db == "" || tb == "" {
		return fail("--table: want db.table, got %q", table)
	}
	sp.Source.Schema, sp.Source.Table = db, tb
	var err error
	if sp.Source.DSN, err = expandEnv(srcDSN); err != nil || srcDSN == "" {
		return fail("--source-dsn: %v", orRequired(err))
	}
	if cfgPath != "" {
		var cfg app.Config
		if err := config.Load(cfgPath, &cfg); err != nil {
			return fail("%v", err)
		}
		if sp.Target.Kind == "" {
			sp.Target.Kind = cfg.Target.Kind
		}
		if dstDSN == "" {
			sp.Target.DSN = cfg.Target.DSN.Reveal()
		}
		if sp.ZeroDates == "" {
			sp.ZeroDates = cfg.Target.ZeroDates
		}
		res, err := verify.Resolve(cfg.Mapping, db, tb)
		if err != nil {
			return fail("%v", err)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "apply verify: warning: %s\n", w)
		}
		sp.Mapping = res.Mapping
		sp.Target.Schema, sp.Target.Table = res.Schema, res.Table
		if sp.Target.Schema == "" {
			sp.Target.Schema = cfg.Target.Schema
		}
	}
	if dstDSN != "" {
		if sp.Target.DSN, err = expandEnv(dstDSN); err != nil {
			return fail("--target-dsn: %v", err)
		}
	}
	if sp.Target.Kind == "" || sp.Target.DSN == "" {
		return fail("give --config, or --target-kind and --target-dsn")
	}
	if targetTable != "" {
		if s, t, ok := strings.Cut(targetTable, "."); ok {
			sp.Target.Schema, sp.Target.Table = s, t
		} else {
			sp.Target.Table = targetTable
		}
	}
	if sp.Target.Table == "" {
		sp.Target.Table = tb
	}
	if sp.Target.Schema == "" && (sp.Target.Kind == "mongodb" || sp.Source.Kind == sp.Target.Kind) && cfgPath == "" {
		sp.Target.Schema = db // same engine, no config: the same database name by default
		if sp.Target.Kind == "mysql" || sp.Target.Kind == "mariadb" {
			sp.Target.Schema = "" // the target DSN's database
		}
	}
	if !quiet {
		opt.Progress = stderr
	}
	ctx, stop := signalContext()
	defer stop()
	src, dst, err := verify.Open(ctx, sp)
	if err != nil {
		return fail("%v", err)
	}
	defer src.Close()
	defer dst.Close()
	res, err := verify.Run(ctx, src, dst, opt)
	if err != nil {
		return fail("%v", err)
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		res.WriteText(stdout)
	}
	if !res.Equal() {
		return 1
	}
	return 0
}

func orRequired(err error) error {
	if err == nil {
		return fmt.Errorf("required")
	}
	return err
}

// expandEnv resolves ${NAME} and ${NAME:-default} references as the
// config files do; an unset variable without a default is an error. The
// error names the variable, never the value.
func expandEnv(s string) (string, error) {
	var missing []string
	out := os.Expand(s, func(ref string) string {
		name, def, hasDef := strings.Cut(ref, ":-")
		if v, ok := os.LookupEnv(name); ok && (v != "" || !hasDef) {
			return v
		}
		if hasDef {
			return def
		}
		missing = append(missing, name)
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}
