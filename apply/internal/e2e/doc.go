// Package e2e holds apply's end-to-end tests: change records in a real
// Kafka broker, apply running as it does in production (app.Run, or the
// binary when a test kills it), real MariaDB and PostgreSQL targets. It
// has no non-test code.
package e2e
