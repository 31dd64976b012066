// Package bench holds apply's throughput benchmarks: change records
// already in the real Kafka broker, applied by the consumer into real
// MariaDB and PostgreSQL targets. It has no non-test code; `make bench`
// runs it.
package bench
