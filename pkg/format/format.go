// Package format holds what the message formats share: the codec interfaces
// and the Kafka headers Sluice writes next to every envelope.
//
// The body of a message stays compatible with the style it imitates
// (Maxwell or Debezium), so genuine consumers of those styles can read it.
// What the style lacks travels in headers: the source position, the column
// types of the table (so apply never guesses whether a string is base64
// binary or a decimal), the origin tag and the format name.
package format

import "github.com/sluice-cdc/sluice/pkg/event"

// Header names. They are part of the wire contract (schemas/headers.schema.json).
const (
	// HeaderFormat names the envelope style: "maxwell" or "debezium".
	HeaderFormat = "sluice.format"
	// HeaderPosition is the resume position after the event's transaction
	// (pkg/position text form).
	HeaderPosition = "sluice.position"
	// HeaderTypes is a JSON object of column name to MySQL column type, in
	// column order: {"id":"bigint(20) unsigned","price":"decimal(20,6)"}.
	HeaderTypes = "sluice.types"
	// HeaderOrigin is the origin tag of the source transaction, when tagged.
	HeaderOrigin = "sluice.origin"
	// HeaderTxLast ("true") marks the last row event of a source
	// transaction on Debezium-style records, whose envelope has no such
	// mark (Maxwell-style values carry "commit": true).
	HeaderTxLast = "sluice.tx.last"
)

// Format names as they appear in config and in HeaderFormat.
const (
	Maxwell  = "maxwell"
	Debezium = "debezium"
)

// Encoder turns an event into a Kafka record key and value. Implementations
// append to dst and return the extended slice, so a caller can reuse buffers;
// they must not retain e or dst.
type Encoder interface {
	// Name is the format name written to HeaderFormat.
	Name() string
	AppendKey(dst []byte, e *event.Event) ([]byte, error)
	AppendValue(dst []byte, e *event.Event) ([]byte, error)
}

// Decoder reads a record value back into an event. types is the decoded
// HeaderTypes when the record has one (Sluice-written topics), or nil for
// genuine Maxwell/Debezium topics, in which case value kinds are inferred
// from the JSON (and from the Connect schema when the Debezium wrapper is
// present). Errors name what was wrong and where in the message.
type Decoder interface {
	Decode(value []byte, types []event.Column, e *event.Event) error
}
