// Package source defines the seam between a change source (the MySQL
// binlog reader, later the Mongo change-stream reader) and the publisher
// that writes to Kafka.
//
// A source emits Items on a bounded channel. Rows of one source transaction
// arrive in commit order, followed by exactly one Commit item carrying the
// position *after* that transaction. The publisher may only store a
// position it received in a Commit or Heartbeat item, which is how the
// stored position never points into the middle of a transaction (DESIGN §5).
// Back-pressure is the channel: a source blocks on send, it never buffers a
// transaction in memory (G7).
package source

import (
	"context"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Kind says what an Item carries.
type Kind uint8

const (
	// Row is one row change in Event.
	Row Kind = iota + 1
	// Commit ends a source transaction; Position is the position after it.
	Commit
	// Heartbeat carries a newer position on a quiet source (no rows since
	// the last Commit), so the stored position and the lag stay true.
	Heartbeat
	// Document is one MongoDB document change in Doc. It is a row of the
	// transaction the next Commit ends, like Row.
	Document
)

// Item is one unit from a source.
type Item struct {
	Kind  Kind
	Event event.Event // Row only
	// Doc is the document change of a Document item.
	Doc *Doc
	// Position is the resume position (pkg/position JSON text); set on
	// Commit and Heartbeat.
	Position string
	// SourceTimeMs is the source time of the commit or heartbeat in Unix
	// milliseconds; the lag metric is now minus this.
	SourceTimeMs int64
	// TxID identifies the committed transaction on Commit items, for logs.
	TxID string
	// Snapshot is the snapshot progress to store with Position (a JSON
	// object; "" when no snapshot is running), set on Commit and Heartbeat
	// items of sources that snapshot. The publisher writes it into the
	// position record's "snapshot" member in the same Kafka transaction.
	Snapshot string
}

// Source streams changes. Run sends items to out until ctx is cancelled
// (it then returns ctx.Err()) or a fatal error occurs. Every send also
// selects on ctx.Done(). Run must not close out; the caller owns it.
// from is a position previously received in a Commit/Heartbeat item, or a
// start spec understood by the source ("earliest", "latest", ...).
type Source interface {
	Run(ctx context.Context, from string, out chan<- Item) error
}

// Doc is one change of a MongoDB source: the Debezium-shaped change (DB,
// Collection, key, documents as canonical Extended JSON), and the
// change-stream event itself as canonical Extended JSON for formats that
// publish it as is (the "changestream" style).
type Doc struct {
	Change debezium.MongoChange
	// Event is the whole change event as canonical Extended JSON v2.
	Event string
	// Position is the position after this change (pkg/position Mongo
	// JSON); it goes into the position header.
	Position string
}
