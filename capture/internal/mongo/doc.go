// Package mongo is the MongoDB change-stream source of capture (DESIGN
// §6): it watches a deployment, a database or a list of collections and
// emits every insert, update, replace and delete as a source.Document
// item followed by a source.Commit item carrying the resume position
// after it (pkg/position Mongo JSON).
//
// Streams. watch: deployment opens one stream on the cluster, database
// one on a database, and collections one stream per listed collection
// (the only mode mongo-java-server, the change-stream test server, can
// serve: it answers neither database nor deployment watches). With one
// stream the position is its resume token and cluster time; with several
// it is a token per stream (position.Mongo.Streams), always holding the
// token of the last event each stream handed on, so the stored position
// never skips an event of another stream.
//
// Transactions. Every change is its own source transaction, except the
// changes of one multi-document transaction (same lsid and txnNumber,
// which a real server delivers back to back): their Commit is held until
// the next event belongs to another transaction or the stream has
// nothing more ready, so a Kafka transaction never ends inside them.
// Per-collection streams cannot see each other's share of a transaction;
// each stream groups its own share only.
//
// Keys. The message key is documentKey._id. mongo-java-server sends the
// update specification instead of the documentKey on updates; such a
// documentKey (no _id, or $-operator fields) is detected, logged once,
// and fullDocument._id is used instead. Update events whose fullDocument
// has no _id (that server also sends the $set contents there without
// updateLookup) are treated as having no full document.
//
// Errors. ChangeStreamHistoryLost (286), an invalid resume token (260)
// and ChangeStreamFatalError (280) are fatal and name the recovery
// command; an invalidate event (collection or database dropped or
// renamed) is fatal and names the token to start after. Network errors
// are retryable: the pipeline restarts from the last committed position.
package mongo
