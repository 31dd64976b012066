// Package postgres is apply's PostgreSQL target.
//
// Exactness (G8) decides how values travel. Every value is sent as text
// (bytea as raw bytes) in a parameter whose type PostgreSQL takes from
// the target column, so the column type's own input function parses it:
// decimals, unsigned 64-bit integers, bit strings, intervals and
// microsecond timestamps arrive digit for digit, with no float64 or
// time.Time on the way. What PostgreSQL would accept but silently round
// or cut (a numeric or timestamp column with fewer fractional digits than
// the value, a double in a real column, a MySQL TIME outside a day in a
// time column, a zero date) is refused here before the write, with a
// RowError naming table, column, value and offset (G6). What PostgreSQL
// itself refuses (a bad enum label, invalid JSON, a constraint) is a
// RowError too, on the row that caused it: the sink replays the batch
// row by row in a rolled-back transaction to find it, because naming the
// wrong row would make the dead-letter policy drop a good one.
//
// Idempotence (G4) decides the statements. A batch is one transaction:
// first the partition's row in sluice_offsets is upserted, only if the
// stored offset is not past the batch (otherwise another consumer got
// further, and the batch is refused with sink.ErrStale before anything
// is written); then each sink.Run becomes upserts (INSERT ... ON CONFLICT
// (key) DO UPDATE) and deletes by key, so replaying any range converges
// to the same rows. A batch costs two round trips whatever its size.
//
// Speed decides the statement form. BenchmarkUpsert measured three ways
// to write 1000-row batches of half inserts, half updates (bench_test.go
// has the figures): one array parameter per column with
// INSERT ... SELECT * FROM unnest($1, ..., $n) (arrays.go) was fastest,
// ahead of COPY into a temporary table then INSERT ... SELECT (copy.go),
// and about twice as fast as multi-row VALUES with a parameter per value,
// whose statement PostgreSQL must parse and plan anew with thousands of
// placeholders. Arrays are the default; VALUES remains for columns that
// have no array type (array columns) and for finding a failed row.
//
// Topics written by genuine Maxwell or genuine Debezium carry no
// sluice.types header, so a value's source type is unknown (Type ""); such
// values are read by the target column's type instead (sink.ConvertUntyped,
// which lists the peers' defaults it assumes): base64 text into bytea,
// Debezium's epoch integers into date, timestamp(p), timestamptz(p), time
// and interval, its ISO-8601 "...Z" timestamps as UTC, its base64
// unscaled decimals at the numeric(p,s) column's scale, and Maxwell's JSON
// arrays of strings as SET members into text and text[] columns (where
// Sluice puts MySQL SETs) but as documents into json and jsonb.
package postgres
