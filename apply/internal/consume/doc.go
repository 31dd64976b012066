// Package consume is apply's Kafka side: a consumer group whose members
// run one worker per assigned partition. A worker decodes and maps records,
// batches them, hands each batch to the sink (rows and offset in one target
// transaction) and only after that commits the Kafka offset, so a crash at
// any point leaves the target either without the batch or with the batch
// and its offset, never with a committed offset whose rows are missing
// (G1, G4).
//
// Partition ownership follows the group: a revoked partition's worker
// finishes its batch and commits before the revocation completes; a lost
// partition's worker abandons its batch and commits nothing. On assignment
// the start offset is the later of Kafka's committed offset and the one
// stored in the target, which is the truth when a crash fell between the
// target commit and the Kafka commit.
//
// A record that cannot be decoded, mapped or written stops its partition
// (policy stop: the worker keeps the partition but stops consuming it,
// readiness fails and the error names topic, partition, offset and cause)
// or goes to a dead-letter topic with the error in its headers (policy
// dlq), and the partition continues. Nothing is skipped silently.
package consume
