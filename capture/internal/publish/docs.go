package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// DocEncoder turns a MongoDB document change into a record key and value
// (capture/internal/mongo has the Debezium and changestream styles).
// Implementations append to dst and must not retain d.
type DocEncoder interface {
	// Name is the format name written to the sluice.format header.
	Name() string
	AppendKey(dst []byte, d *source.Doc) ([]byte, error)
	AppendValue(dst []byte, d *source.Doc) ([]byte, error)
}

// ErrMessageTooLarge is returned when a document change makes a record
// over Config.MaxMessageBytes.
var ErrMessageTooLarge = errors.New("record over the Kafka message size limit")

func formatName(c *Config) string {
	if c.Encoder != nil {
		return c.Encoder.Name()
	}
	return c.DocEncoder.Name()
}

// produceDoc produces the record of one document change, and a tombstone
// after a delete when configured. On error it returns the metrics kind.
func (p *Publisher) produceDoc(ctx context.Context, d *source.Doc) (string, error) {
	c := &d.Change
	if p.cfg.DocEncoder == nil {
		return "source", fmt.Errorf("a MongoDB change of %s.%s reached a publisher without a document format", c.DB, c.Collection)
	}
	topic, err := p.topicFor(ctx, c.DB, c.Collection)
	if err != nil {
		return "topic", fmt.Errorf("topic of %s.%s: %w", c.DB, c.Collection, err)
	}
	value, err := p.cfg.DocEncoder.AppendValue(nil, d)
	if err != nil {
		return "encode", fmt.Errorf("encoding the %s of %s.%s _id %s: %w", c.Op, c.DB, c.Collection, c.KeyExtJSON, err)
	}
	key, err := p.cfg.DocEncoder.AppendKey(nil, d)
	if err != nil {
		return "encode", fmt.Errorf("encoding the key of a %s of %s.%s: %w", c.Op, c.DB, c.Collection, err)
	}
	// No sluice.types header: documents carry their BSON types in
	// canonical Extended JSON.
	hdrs := []kgo.RecordHeader{
		{Key: format.HeaderFormat, Value: p.formatHdr},
		{Key: format.HeaderPosition, Value: []byte(d.Position)},
	}
	size := len(key) + len(value)
	for _, h := range hdrs {
		size += len(h.Key) + len(h.Value)
	}
	if size > p.cfg.MaxMessageBytes {
		return "encode", fmt.Errorf("%w: the %s of %s.%s _id %s makes a %d-byte record, over the limit of %d bytes (the producer's batch max bytes and the broker's message.max.bytes must both be raised to carry it; capture stops rather than drop it)",
			ErrMessageTooLarge, c.Op, c.DB, c.Collection, truncateID(c.KeyExtJSON), size, p.cfg.MaxMessageBytes)
	}
	p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: hdrs}, p.promise)
	if p.tombstones && c.Op == event.OpDelete {
		p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Headers: hdrs[:2:2]}, p.promise)
	}
	return "", nil
}

func truncateID(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
