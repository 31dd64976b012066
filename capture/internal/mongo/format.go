package mongo

import (
	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// Format names of document changes (config format, sluice.format header).
const (
	FormatDebezium     = "debezium"
	FormatChangeStream = "changestream"
)

// DebeziumEncoder writes the Debezium MongoDB envelope (after, before and
// updateDescription as canonical Extended JSON strings; source with
// collection, ord and cluster time), keyed {"id":"<_id Extended JSON>"}.
// It implements publish.DocEncoder.
type DebeziumEncoder struct{}

// Name implements publish.DocEncoder.
func (DebeziumEncoder) Name() string { return FormatDebezium }

// AppendKey implements publish.DocEncoder.
func (DebeziumEncoder) AppendKey(dst []byte, d *source.Doc) ([]byte, error) {
	return debezium.AppendMongoKey(dst, &d.Change)
}

// AppendValue implements publish.DocEncoder.
func (DebeziumEncoder) AppendValue(dst []byte, d *source.Doc) ([]byte, error) {
	return debezium.AppendMongoValue(dst, &d.Change)
}

// ChangeStreamEncoder writes the change event itself as canonical
// Extended JSON, as the official MongoDB Kafka source connector does
// (with ns added when the server left it out). The key is the same as in
// the Debezium style, the document's _id, so one document's changes stay
// in one partition in order. It implements publish.DocEncoder.
type ChangeStreamEncoder struct{}

// Name implements publish.DocEncoder.
func (ChangeStreamEncoder) Name() string { return FormatChangeStream }

// AppendKey implements publish.DocEncoder.
func (ChangeStreamEncoder) AppendKey(dst []byte, d *source.Doc) ([]byte, error) {
	return debezium.AppendMongoKey(dst, &d.Change)
}

// AppendValue implements publish.DocEncoder.
func (ChangeStreamEncoder) AppendValue(dst []byte, d *source.Doc) ([]byte, error) {
	return append(dst, d.Event...), nil
}
