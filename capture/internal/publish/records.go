package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
	"github.com/sluice-cdc/sluice/pkg/kafka"
	"github.com/sluice-cdc/sluice/pkg/obs"
)

// typesEntry caches the sluice.types header of a table for the column
// list it was built from; a schema change (other names or types) rebuilds
// it. Records share the bytes, which nothing writes to after building.
type typesEntry struct {
	cols []event.Column
	hdr  []byte
}

func sameColumns(a, b []event.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}

func (p *Publisher) typesHeader(e *event.Event) []byte {
	k := [2]string{e.Database, e.Table}
	if t, ok := p.types[k]; ok && sameColumns(t.cols, e.Columns) {
		return t.hdr
	}
	// Copy the columns: a source may reuse the event's slices.
	t := &typesEntry{cols: append([]event.Column(nil), e.Columns...), hdr: format.AppendTypes(nil, e.Columns)}
	p.types[k] = t
	return t.hdr
}

// topicFor returns db.table's topic, creating it on first use.
func (p *Publisher) topicFor(ctx context.Context, db, table string) (string, error) {
	name, err := p.topics.Name(db, table)
	if err != nil {
		return "", err
	}
	if p.ensured[name] {
		return name, nil
	}
	res, err := kafka.EnsureTopic(ctx, p.adm, name, p.cfg.Partitions, p.cfg.ReplicationFactor, p.topicCfgs)
	if err != nil {
		return "", err
	}
	switch {
	case res.Note != "":
		p.log.Warn(res.Note, obs.Topic(name), obs.Table(db, table))
	case res.Created:
		p.log.Info("created topic", obs.Topic(name), obs.Table(db, table))
	}
	p.ensured[name] = true
	return name, nil
}

// produceRow produces the record(s) of one row event. A primary-key
// change becomes a delete of the old key and a create (Maxwell: insert) of
// the new one, in both styles: records are partitioned by key, and a
// single update keyed by the new key would land in another partition than
// the old key's history, where apply could run it before the old key's
// earlier changes and leave the old row behind (G2). Deletes are followed
// by a tombstone when configured. On error it returns the metrics kind.
func (p *Publisher) produceRow(ctx context.Context, e *event.Event) (string, error) {
	topic, err := p.topicFor(ctx, e.Database, e.Table)
	if err != nil {
		return "topic", fmt.Errorf("topic of %s.%s: %w", e.Database, e.Table, err)
	}
	// Every split adds an event to the transaction: the events after it
	// move one place down (Debezium total_order and data_collection_order,
	// Maxwell xoffset), so the orders stay a gapless sequence.
	if e.Tx.ID != p.split.tx {
		p.split.tx, p.split.all = e.Tx.ID, 0
		clear(p.split.table)
	}
	tk := [2]string{e.Database, e.Table}
	shifted := *e
	shifted.Tx.Seq += p.split.all
	shifted.Tx.TableSeq += p.split.table[tk]
	if del, create, ok := debezium.SplitKeyChange(&shifted); ok {
		p.split.all++
		p.split.table[tk]++
		if err := p.produceEvent(ctx, topic, &del); err != nil {
			return "encode", err
		}
		return "encode", p.produceEvent(ctx, topic, &create)
	}
	return "encode", p.produceEvent(ctx, topic, &shifted)
}

var txLastTrue = []byte("true")

func (p *Publisher) produceEvent(ctx context.Context, topic string, e *event.Event) error {
	value, err := p.cfg.Encoder.AppendValue(nil, e)
	if errors.Is(err, debezium.ErrNotRepresentable) {
		return nil // snapshot markers have no Debezium form; skipping them is the format's rule
	}
	if err != nil {
		return fmt.Errorf("encoding the %s of %s.%s (transaction %s): %w", e.Op, e.Database, e.Table, e.Tx.ID, err)
	}
	key, err := p.cfg.Encoder.AppendKey(nil, e)
	if err != nil {
		return fmt.Errorf("encoding the key of a %s of %s.%s (transaction %s): %w", e.Op, e.Database, e.Table, e.Tx.ID, err)
	}
	pos := []byte(e.Position)
	hdrs := make([]kgo.RecordHeader, 3, 5)
	hdrs[0] = kgo.RecordHeader{Key: format.HeaderFormat, Value: p.formatHdr}
	hdrs[1] = kgo.RecordHeader{Key: format.HeaderPosition, Value: pos}
	hdrs[2] = kgo.RecordHeader{Key: format.HeaderTypes, Value: p.typesHeader(e)}
	if p.dbz && e.Tx.Last {
		hdrs = append(hdrs, kgo.RecordHeader{Key: format.HeaderTxLast, Value: txLastTrue})
	}
	if e.Origin != "" {
		hdrs = append(hdrs, kgo.RecordHeader{Key: format.HeaderOrigin, Value: []byte(e.Origin)})
	}
	p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: hdrs}, p.promise)
	if p.tombstones && e.Op == event.OpDelete {
		// Same key, null value: compaction then drops the key's history.
		// The headers say which format and position it belongs to.
		p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Headers: hdrs[:2:2]}, p.promise)
	}
	return nil
}
