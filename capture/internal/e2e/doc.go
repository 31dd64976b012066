// Package e2e holds end-to-end tests of the capture binary: the real
// process (built with go build) against real servers from pkg/testenv (a
// MariaDB with the binlog on, a 2-node MariaDB Galera cluster, the real
// Kafka broker), checked by what a read_committed consumer sees.
//
// The tests prove the capture guarantees of DESIGN §2 under faults:
//
//   - crash_test.go: a writer runs a mixed workload (inserts, updates,
//     deletes, multi-row statements and multi-statement transactions)
//     while capture is killed with SIGKILL at random moments, at least 20
//     times, and restarted (G1, G2, G3, G5);
//   - galera_test.go: capture reads a 2-node Galera cluster; node 1 is
//     killed under load and capture continues from node 2 by GTID (issue
//     3, item 6).
//
// Both share one workload (workload_test.go) whose every row carries a
// per-key version counter, and one validator (validate_test.go): each
// committed source change exactly once (no loss, no duplicate), per-key
// order, and transaction markers (transaction id on every row, exactly
// one commit mark, on the last row). The validator has its own unit test
// with hand-made inputs (validate_unit_test.go), so a pass means
// something.
//
// The package has no non-test code. The server tests skip under
// SLUICE_TEST_SERVERS=none, as every server test does.
package e2e
