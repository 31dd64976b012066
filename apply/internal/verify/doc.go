// Package verify compares a source table with the target table apply
// writes it to, and names the keys that differ (DESIGN §9): MySQL/MariaDB
// to MySQL/MariaDB, MySQL/MariaDB to PostgreSQL, MongoDB to MongoDB.
//
// # Chunks
//
// The source is read in key order by keyset pagination (key > last ORDER
// BY key LIMIT chunk; composite keys by row-value comparison on
// PostgreSQL and its expanded form, a > x OR (a = x AND b > y), on MySQL,
// whose range optimiser does not use row values). A chunk of source rows
// defines the key range (previous chunk's last key, this chunk's last
// key]; the target rows in that range are read the same way, paged by the
// target's own last key, and the last range is open so target rows past
// the source's end count as extra. Each side's count and checksum (the
// sum of the row digests) of the range are compared; a range that
// differs is listed, and narrowed to keys missing in the target, extra in
// the target and changed (with the differing columns).
//
// # Hashing in Go, not in the server
//
// Server-side checksums (pt-table-checksum's BIT_XOR(CRC32(CONCAT_WS(...))))
// cannot be made equal across engines: MariaDB and PostgreSQL print floats,
// timestamps, intervals, bytes, booleans and JSON differently, and JSON
// equality (key order, number forms) is not expressible in MariaDB's SQL.
// So each side streams its rows, every value is turned into one canonical
// text per type class (normalize.go: DECIMAL without trailing zeros,
// DATETIME/TIMESTAMP as UTC microseconds, TIME as microseconds, zero dates
// as NULL when the target's zero_dates policy stored NULL, bytes as hex,
// JSON parsed with sorted keys and one number form, SET members sorted,
// TINYINT vs boolean as 0/1, FLOAT/DOUBLE as their shortest round-trip
// text) and hashed (FNV-1a 64) in Go. One code path serves every pair of
// engines. Only digests are kept, never row data: the per-row digests of
// the current source chunk (key, row digest, a digest per column), so a
// differing chunk is narrowed to keys without reading it a second time.
// The cost is that every row crosses the network once per side; --rate
// caps that (rows per second, both sides together) for production.
//
// # Limits
//
//   - String keys must collate the same way on both sides (utf8mb4_bin and
//     PostgreSQL's C collation agree). A key the engines order differently
//     shows as missing in one chunk and extra in another; the pair is
//     cancelled (or reported changed) at the end, up to 100,000 such keys.
//   - Tables without a primary key are refused.
//   - Static columns are compared as text; row filters are not applied
//     (Resolve warns: filtered rows show as missing).
//   - MongoDB documents are compared whole (canonical Extended JSON, field
//     order ignored); paging by _id crosses BSON type brackets with $type.
package verify
