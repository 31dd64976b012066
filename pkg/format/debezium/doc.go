// Package debezium encodes and decodes Debezium-style change events
// (DESIGN §4): the payload of Debezium's MySQL connector, without the Kafka
// Connect schema wrapper by default, and the envelope of its MongoDB
// connector (MongoChange).
//
// # Row values
//
// Values are written so that a genuine Debezium consumer configured with
// decimal.handling.mode=string, binary.handling.mode=base64 and
// time.precision.mode=isostring reads them, and so that every value
// round-trips exactly with the sluice.types header (G8):
//
//	integers          JSON integers (BIGINT UNSIGNED exact up to 2^64-1)
//	DECIMAL           exact string "-0.000001"
//	FLOAT, DOUBLE     shortest number that reads back the same (FLOAT at
//	                  32 bits); NaN and ±Infinity as strings
//	DATE              "YYYY-MM-DD"
//	DATETIME          "YYYY-MM-DDTHH:MM:SS[.ffffff]" (no zone)
//	TIMESTAMP         "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (UTC)
//	TIME              "[-]HH:MM:SS[.ffffff]": MySQL's text, because a TIME
//	                  may be negative or over 24 hours, which an ISO-8601
//	                  time of day cannot say
//	YEAR              integer
//	BIT(1)            true/false, as Debezium writes it
//	BIT(n>1)          base64 of ceil(n/8) bytes, least significant byte
//	                  first, as Debezium's io.debezium.data.Bits
//	ENUM              the label; SET: the labels joined with commas
//	binary, BLOB      base64
//	JSON              a string holding the document's text
//	                  (io.debezium.data.Json)
//	zero dates        verbatim: "0000-00-00", "0000-00-00T00:00:00",
//	                  "0000-00-00T00:00:00.000000Z". Debezium writes null
//	                  for them, which would turn a value into NULL.
//
// A column whose value the source did not log (event.Absent) is left out
// of the row; it is never written as null.
//
// # Records
//
// The record key is {"<pk column>":<value>,...} in key order. An update that
// changes the primary key is published as a delete under the old key and a
// create under the new one (SplitKeyChange), so each key's history stays
// in one partition (G2). With Options.Tombstones a delete is followed by a
// tombstone: the same key with a null value (Encoder.WantsTombstone), so a
// compacted topic can drop the key. Snapshot start/complete markers have
// no Debezium form: AppendValue returns ErrNotRepresentable and publishers
// skip them on purpose, since Debezium signals snapshots only through
// source.snapshot on the rows themselves.
//
// The transaction block (id, total_order, data_collection_order) carries
// the transaction id on every row; the last-row mark, which Debezium puts
// in a separate transaction topic, travels in the sluice.tx.last header
// the publisher adds, and the binlog XID does not travel at all.
// Everything else in event.Event does.
//
// # Decoding
//
// Decoder reads Sluice's own messages exactly when given the sluice.types
// header, and genuine Debezium MySQL connector output without it: kinds
// then come from the Connect schema when the {"schema","payload"} wrapper
// is present (Debezium's default encodings included: Decimal as scaled
// bytes, dates as epoch days, timestamps as epoch milli/microseconds), or
// are inferred from the JSON otherwise. Errors name the field path and the
// byte offset in the message.
package debezium
