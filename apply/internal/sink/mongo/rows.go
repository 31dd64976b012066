package mongo

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Rows from a Mongo source follow the apply/internal/docrow convention:
// columns of type BSONType holding canonical Extended JSON, key "_id",
// and for updates without the full document the pseudo-columns
// SetColumn, UnsetColumn and TruncateColumn.
const (
	BSONType       = docrow.Type
	SetColumn      = docrow.SetColumn
	UnsetColumn    = docrow.UnsetColumn
	TruncateColumn = docrow.TruncateColumn
)

// MongoRow turns a decoded Debezium-style Mongo change into a Row by the
// convention above, unmapped (Schema and Table are the source database and
// collection). Topic, Partition and Offset are left to the caller. apply
// itself goes through decode and mapping; this is for tests and tools.
func MongoRow(c *debezium.MongoChange) (Row, error) {
	var e event.Event
	if err := docrow.FromChange(c, &e); err != nil {
		return Row{Op: c.Op, Schema: c.DB, Table: c.Collection}, err
	}
	vals := e.After
	if e.Op == event.OpDelete {
		vals = e.Before
	}
	return Row{Op: e.Op, Schema: e.Database, Table: e.Table, Columns: e.Columns, Key: e.Key, Values: vals}, nil
}

// valueExtJSON is the canonical Extended JSON of one value.
func valueExtJSON(v any) ([]byte, error) { return docrow.ValueExtJSON(v, true) }

// parseExtJSONValue reads one canonical (or relaxed) Extended JSON value.
func parseExtJSONValue(text []byte) (bson.RawValue, error) { return docrow.ParseValue(text) }

// isMongoRow reports rows by the convention above.
func isMongoRow(r *Row) bool { return docrow.IsDoc(r.Columns) }
