package verify

import (
	"context"
	"fmt"
)

// Endpoint is one side of a comparison. For mongodb, Schema is the
// database and Table the collection.
type Endpoint struct {
	Kind   string // mysql (mariadb), postgres or mongodb
	DSN    string // never printed
	Schema string
	Table  string
}

// Spec is a comparison to open.
type Spec struct {
	Source, Target Endpoint
	// Mapping is applied to the source columns (SQL tables only).
	Mapping Mapping
	// ZeroDates is the target's zero_dates policy: keep, or null (the
	// default for postgres) when MySQL zero dates became NULL.
	ZeroDates string
}

// Open connects to both sides and pairs their columns. Supported:
// MySQL/MariaDB to MySQL/MariaDB or PostgreSQL, and MongoDB to MongoDB.
func Open(ctx context.Context, sp Spec) (src, dst Side, err error) {
	isMySQL := func(k string) bool { return k == "mysql" || k == "mariadb" }
	switch {
	case sp.Source.Kind == "mongodb" && sp.Target.Kind == "mongodb":
		s, err := openMongo(ctx, sp.Source.DSN, sp.Source.Schema, sp.Source.Table)
		if err != nil {
			return nil, nil, fmt.Errorf("source: %w", err)
		}
		d, err := openMongo(ctx, sp.Target.DSN, sp.Target.Schema, sp.Target.Table)
		if err != nil {
			s.Close()
			return nil, nil, fmt.Errorf("target: %w", err)
		}
		return s, d, nil
	case isMySQL(sp.Source.Kind) && (isMySQL(sp.Target.Kind) || sp.Target.Kind == "postgres"):
	default:
		return nil, nil, fmt.Errorf("cannot compare %s with %s: supported are mysql->mysql, mysql->postgres and mongodb->mongodb",
			sp.Source.Kind, sp.Target.Kind)
	}
	s, err := openSQL(ctx, SQLTable(sp.Source))
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	d, err := openSQL(ctx, SQLTable(sp.Target))
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("target: %w", err)
	}
	zeroNull := sp.ZeroDates == "null" || (sp.ZeroDates == "" && d.kind == "postgres")
	if err := pairSQL(s, d, sp.Mapping, zeroNull); err != nil {
		s.Close()
		d.Close()
		return nil, nil, err
	}
	return s, d, nil
}
