package sink

import "context"

// TargetColumn is a column of a target table, as a Catalog reports it.
type TargetColumn struct {
	// Name as the target spells it.
	Name string
	// JSON is set for columns of a JSON type (MySQL JSON, PostgreSQL json
	// and jsonb; MariaDB's JSON is a LONGTEXT and is not told apart).
	JSON bool
	// Generated columns cannot be written.
	Generated bool
}

// Catalog is implemented by the SQL sinks: it lets a step before the sink
// (apply/internal/docsql, which turns MongoDB documents into rows) see the
// target table the rows will be written to.
type Catalog interface {
	// TargetColumns returns the columns of the target table in table
	// order; schema "" is the sink's default. A table the target does not
	// have is (nil, nil). The sink's cached copy is used unless reload is
	// set.
	TargetColumns(ctx context.Context, schema, table string, reload bool) ([]TargetColumn, error)
}
