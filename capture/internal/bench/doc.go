// Package bench holds capture's end-to-end throughput benchmark: rows
// already in a real MariaDB binlog, drained by the binlog reader and the
// transactional publisher into a real Kafka broker. It has no non-test
// code; `make bench` runs it.
package bench
