// Package mysql is apply's MySQL and MariaDB target (DESIGN §7).
//
// A batch is one transaction, because the target, not Kafka, is the
// record of what was applied (G4): the partition's row in sluice_offsets
// is locked first, the rows are written, the offset row gets the batch's
// next offset, and only the commit makes both visible. A crash at any
// point leaves either the whole batch with its offset or neither, and a
// consumer that lost the partition mid-batch finds the offset moved past
// its batch (sink.ErrStale) instead of writing older changes over newer
// ones (G2).
//
// Rows are written as upserts and deletes by key (multi-row INSERT ... ON
// DUPLICATE KEY UPDATE, DELETE ... WHERE key IN (...)), so redelivery,
// replay and overlap with a snapshot all converge on the same state. The
// statements are the subset MariaDB 10.x and MySQL 8 share.
//
// Values reach the server as integers or as text it parses itself
// (decimals, temporal values), never through float64 or time.Time, and
// every session runs in strict mode with time_zone +00:00: a value the
// column cannot hold fails loudly as a *sink.RowError naming the row,
// column and value (G6) rather than being clipped, and what is stored is
// what the source had (G8).
//
// Topics written by genuine Maxwell or genuine Debezium carry no
// sluice.types header, so a value's source type is unknown (Type ""); such
// values are read by the target column's type instead (sink.ConvertUntyped,
// which lists the peers' defaults it assumes): base64 text into BINARY,
// VARBINARY and BLOB columns, Debezium's epoch integers into DATE,
// DATETIME(p), TIMESTAMP(p) and TIME, its ISO-8601 "...Z" timestamps as
// UTC, its base64 unscaled decimals at the DECIMAL column's scale, and
// Maxwell's JSON arrays as SET members into SET columns (as the document
// into JSON ones). Invalid base64 is a RowError, never written as text.
package mysql
