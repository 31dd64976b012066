// Package binlog is the MySQL/MariaDB change source of capture: it reads
// the binary log as a replica does (go-mysql's BinlogSyncer) and turns ROW
// events into canonical change events (source.Source).
//
// # What a consumer of Run can rely on
//
//   - Rows of one source transaction arrive in binlog order. The last one
//     has Tx.Last set: the reader holds rows back until the transaction's
//     XID (or COMMIT) arrives, at most Config.HoldRows rows and HoldBytes,
//     so memory does not grow with the transaction (G7). A Commit item follows with the
//     resume position *after* the transaction (GTID set including it, file
//     and end offset of the XID event, server identity). Every source
//     transaction gets a Commit item, also one whose rows were all filtered
//     out, so the position keeps moving on a busy server.
//   - Event.Position of a row is the position of its transaction's start
//     (the previous Commit's position): the resume position is only known
//     at commit and travels in the Commit item. Positions never advance
//     inside a transaction (DESIGN §5).
//   - The XID is only known at commit: Tx.XID is set on the rows still
//     held then, every row of a transaction within the hold limits, and
//     is 0 on the rows a bigger transaction had to send before it.
//   - A DDL statement is its own transaction: it is logged at info, the
//     reader forgets what it cached from the catalog, and a Commit item is
//     sent. DDL is not replicated to targets.
//   - Heartbeat items carry the committed position while no transaction is
//     open: on server heartbeats and after HeartbeatPeriod without events.
//
// # Connection loss (the restart contract)
//
// Between transactions, a lost connection is invisible: the reader
// reconnects with exponential backoff and jitter (capped at 10 s) and
// resumes from the last committed position. With GTIDs it tries every
// address of Config.Addrs in turn, so it follows a failover; without GTIDs
// a file:pos means nothing on another server, so it reconnects only to a
// server with the same server_id/server_uuid and refuses to switch.
//
// If the connection is lost after rows of an open transaction were sent,
// those rows can neither be completed nor taken back by the reader. Run
// then returns an error matching ErrTxnInterrupted (errors.Is) whose
// Retryable method reports true. The pipeline must abort its open Kafka
// transaction (dropping the partial rows) and call Run again with the last
// committed position; the transaction is then read again from its start.
// Run sends nothing more after returning.
//
// # Where column names and types come from
//
// Each rows event is decoded with the table map that precedes it, using
// the optional metadata of binlog_row_metadata=FULL (names, signedness,
// charsets, ENUM/SET labels, primary key). Rows written before a DDL
// therefore keep the columns they were written with, even when capture is
// lagging behind the DDL. A server without FULL metadata is refused with an
// error naming the setting; tracking schemas through DDL for servers that
// only log MINIMAL metadata is not implemented.
//
// The current catalog (information_schema) is consulted for three facts the
// binlog does not carry, each cached per table and forgotten after any DDL:
//   - MariaDB JSON columns are LONGTEXT with a json_valid check in the
//     binlog. The lookup only decides whether a LONGTEXT column's Kind is
//     JSON or String; the bytes are the same either way, so at worst a row
//     written before a DDL that changed a column between JSON and LONGTEXT
//     gets the column's present label, never different data.
//   - Tables without a primary key are keyed by a unique key whose columns
//     are all NOT NULL (DESIGN §4); its columns must all exist in the row's
//     table map, otherwise the table counts as keyless.
//   - The bytes per character of each collation, to print CHAR(n) and
//     VARCHAR(n) lengths; server metadata that no DDL changes.
//
// Tables with neither key are refused with an error naming the table
// unless Config.KeylessFullRow keys them by all columns.
//
// Not supported: XA transactions (refused with an error), MySQL partial
// JSON updates (binlog_row_value_options=PARTIAL_JSON, refused), and the
// thread id of MariaDB DML (MariaDB logs no BEGIN query; Source.Thread is
// 0 there). Preflight and CheckPositionAvailable check a server before
// capture starts.
package binlog
