// Package publish writes a source's items to Kafka exactly once (DESIGN §2
// G3, §5): the row records of one or more whole source transactions and the
// position record after them are written in one Kafka transaction, so a
// read_committed consumer sees each source change once and a restarted
// capture resumes exactly after the last transaction it committed.
//
// Lifecycle (one goroutine drives a Publisher; its methods are not
// concurrent):
//
//   - New builds the Kafka client; nothing is sent yet.
//   - LastPosition fences any earlier instance with the same transactional
//     id, so a transaction a killed predecessor left open is aborted now
//     rather than after its timeout, then reads the positions topic with
//     read_committed to its end and returns this capture's last position.
//     Only a call before the first Run fences: later calls (a pipeline
//     restart) must not fence this very instance, whose own producer-id
//     request already fenced its predecessors.
//   - Run consumes items until the channel is closed (the soft stop: the
//     caller stopped the source), then ends the open Kafka transaction at a
//     source-transaction boundary: committed when the last item was a
//     Commit or Heartbeat, aborted otherwise. Everything after the last
//     committed position is read again from it on restart, so an abort
//     loses nothing. When ctx is cancelled (the hard stop) Run ends the
//     transaction the same way, without waiting for more items, and
//     returns the context's error. Run may be called again after it
//     returned without error.
//   - Close releases the client. It never commits: closing with a
//     transaction open is what a crash looks like to the broker.
//
// Commit points. Rows are produced as they arrive (bounded by the producer
// buffer, so back-pressure reaches the source, G7). At each Commit item the
// transaction is committed when it holds CommitEvery rows or has been open
// CommitInterval; otherwise it stays open for the next source transaction,
// and a timer commits it at CommitInterval if the source goes quiet. The
// position record written is always the one of the last Commit or
// Heartbeat item received: a position is never invented or taken from a
// row. A Heartbeat on an idle publisher writes a transaction holding only
// the position record, at most once per CommitInterval and only when the
// position changed.
//
// Huge source transactions. A Kafka transaction can only end at a source
// boundary, so a source transaction that takes longer than
// TransactionTimeout to stream is aborted by the broker; Run then fails
// with ErrTransactionTimeout naming the setting and the broker's
// transaction.max.timeout.ms, the cap on it.
//
// Without transactions (NoTransactions) the producer is idempotent and the
// position record is produced only after every row before it was
// acknowledged: at-least-once.
//
// Position record: key = capture name, value =
// {"capture":<name>,"<SourceKind>":<position JSON of the item>,"updated_ms":<ms>}
// (schemas/position.schema.json); the item's position text is embedded
// as is, so the publisher stays independent of the source type.
package publish
