// Package mongo is apply's MongoDB target (DESIGN §7, issue 5).
//
// A batch becomes unordered bulk writes by _id: inserts, snapshot reads,
// replaces and updates that carry the full document are ReplaceOne with
// upsert; updates without the full document (a change stream's
// updateDescription) are UpdateOne with $set/$unset; deletes are
// DeleteOne, and deleting a missing document is success. Changes to the
// same _id inside a batch are collapsed to the last full state; where they
// cannot be (a partial update after another change of the same document),
// the batch is split into consecutive bulk writes, so MongoDB's freedom to
// reorder an unordered bulk never reorders one document's changes (G2).
//
// # Offsets without transactions
//
// The applied offset of each partition is stored in the sluice_offsets
// collection of Config.Database, written after the batch's documents.
// This package does not use multi-document transactions: FerretDB (the
// test server) and standalone servers have none. The sink is still
// correct on redelivery, because every write is idempotent: a replace by
// _id writes the same full document again, $set/$unset set the same
// values, a delete of a missing document is success. A crash between the
// documents and the offset therefore only means the batch is applied a
// second time from the Kafka offset (or the older stored one), which
// leaves the same documents (G4). The target's offset may lag the
// documents, never lead them.
//
// Stale batches (sink.ErrStale): the stored offset is read before the
// batch, and the batch is refused, writing nothing, when it is beyond
// Offset.From. The offset update itself is conditional (next <= From), so
// a worker that lost the race after writing is still told ErrStale; in
// that narrow window (another consumer applied newer changes of the
// partition while this one was writing) the stale worker's writes may have
// overwritten newer ones until those documents change again. With
// multi-document transactions (a real replica set) this window would
// close; the sink does not use them yet.
//
// # Errors
//
// Network errors, timeouts, server selection failures, primary step-downs
// and write-concern errors are transient (sink.Transient): the consumer
// retries the same batch, which is safe for the reasons above. A document
// the server refuses (duplicate key on a unique secondary index, a
// document too large, a value it cannot store) is fatal and returned as a
// *sink.RowError naming topic, partition, offset, collection and _id (G6).
//
// # Rows
//
// SQL rows (from MySQL/MariaDB capture) become documents whose _id is the
// primary key value, or a document of the key columns for a composite key;
// every column is also a field. Types follow the source column types the
// rows carry (see convert.go). Rows from a Mongo source use the "bson"
// column type of the apply/internal/docrow convention (see rows.go): their
// values are written as the BSON they were captured as.
package mongo
