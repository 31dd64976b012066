// Package kafka turns Sluice's Kafka settings into franz-go client options
// and holds the Kafka chores both services share: topic naming and idempotent
// topic creation.
//
// Invariants:
//   - Secrets (the SASL password) are revealed only inside the SASL
//     callbacks, when a connection authenticates; they are never part of an
//     error, a log line or a value that could be printed.
//   - A topic name is derived from a template and the source names only,
//     deterministically, so a restart or a second replica computes the same
//     name. Characters Kafka does not allow in topic names are replaced
//     (TopicName documents how); two tables that would end up on one topic
//     are a configuration error caught by Topics, never a silent merge.
//   - Topic creation never changes an existing topic: partition counts are
//     only ever raised by an explicit admin command (DESIGN §8), so a key's
//     partition does not move under a running capture.
package kafka
