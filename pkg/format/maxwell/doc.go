// Package maxwell encodes events as Maxwell-style JSON and decodes them back.
//
// The value is the envelope Maxwell's Kafka producer writes with every
// optional field turned on, so a consumer written for Maxwell reads Sluice
// topics unchanged:
//
//	{"database":"shop","table":"orders","type":"update","ts":1700000000,
//	 "xid":101,"xoffset":0,"position":"mariadb-bin.000001:2000","gtid":"0-1-11",
//	 "server_id":1,"thread_id":7,"primary_key":[1],"primary_key_columns":["id"],
//	 "data":{"id":1,"qty":2},"old":{"qty":1}}
//
// Fields, in this order: database, table, type, ts (source commit time in
// seconds), xid, xoffset (0-based row index in the transaction), commit
// (true on the transaction's last row only), position ("file:pos" of the
// row's binlog event), gtid (omitted when empty), server_id, thread_id,
// primary_key, primary_key_columns, data and, for updates, old with the
// before values of the changed columns only. A delete's data is the deleted
// row. Where Sluice differs from Maxwell, on purpose:
//   - xoffset is written on the commit row too (Maxwell leaves it out there),
//     so the row index of every row survives. The decoder accepts both.
//   - xid is the transaction's XID on the commit row only; earlier rows
//     carry 0. The binlog gives the XID at the end of a transaction, and
//     holding every row of a transaction back until then would make memory
//     grow with transaction size (G7). The gtid (MariaDB/GTID mode) or the
//     transaction id Sluice keeps in the event identifies the transaction
//     on every row; group by gtid, not by xid.
//   - a primary-key change is a delete of the old key and an insert of the
//     new one (Maxwell writes one update keyed by the new key), so each
//     key's history stays in its partition (G2).
//   - type is never a DDL type; DDL is not replicated (DESIGN §6).
//   - bootstrap-start and bootstrap-complete are written as Maxwell writes
//     them, {"database","table","type","ts","data":{}}; bootstrap-insert rows
//     carry position, gtid, server_id and the key fields but no xid, xoffset,
//     commit or thread_id, since a snapshot read is not a binlog transaction.
//
// Values are written as Maxwell writes them (DESIGN §4): integers as JSON
// integers (BIGINT UNSIGNED exact), DECIMAL as a JSON number with exactly
// its digits, FLOAT as the shortest text that reads back as the same 32-bit
// float and DOUBLE likewise at 64 bits, temporal values as their text
// (zero dates, negative and >24h TIME verbatim), YEAR and BIT as integers,
// ENUM as a string, SET as an array of strings, binary strings, BLOBs and
// spatial values as base64, JSON columns embedded as JSON (checked to be
// valid), NULL as null. NaN and ±Inf have no JSON number form and MySQL
// cannot store them; should one reach the encoder it is written as the
// string "NaN", "Infinity" or "-Infinity" (jsonw.Float), which the decoder
// reads back for FLOAT/DOUBLE columns. A JSON column holding the JSON
// literal null is indistinguishable from SQL NULL in this format and reads
// back as NULL.
//
// The key is Maxwell's "hash" key format: {"database":"d","table":"t",
// "pk.<column>":<value>,...} in key order, column names lower-cased as
// Maxwell does. A table without a key (len(Event.Key) == 0, allowed only
// when configured, DESIGN §4) gets Maxwell's {"database","table","_uuid"}
// with a random version 4 UUID: such rows have no identity to keep in one
// partition, so they spread over all of them.
//
// The column types travel in the sluice.types header (format.AppendTypes).
// With them the decoder rebuilds the exact event; without them (genuine
// Maxwell topics) it infers kinds from the JSON shape, see Decoder.
package maxwell
