package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// OffsetsCollection holds the applied offsets, one document per group,
// topic and partition: {_id: {group, topic, partition}, group, topic,
// partition, next, updated_at}.
const OffsetsCollection = "sluice_offsets"

// Sink writes batches to one MongoDB deployment. It is safe for
// concurrent use; the driver pools connections.
type Sink struct {
	cfg     Config
	client  *mongo.Client
	offsets *mongo.Collection
	conv    converter
	log     *zap.Logger

	closeOnce sync.Once
	closeErr  error
}

var _ sink.Sink = (*Sink)(nil)

// New connects and checks that the server answers.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mongo sink config: %w", err)
	}
	cfg = cfg.withDefaults()
	client, err := mongo.Connect(options.Client().ApplyURI(cfg.URI))
	if err != nil {
		return nil, fmt.Errorf("mongo target uri: %w", err)
	}
	s := &Sink{cfg: cfg, client: client, log: cfg.Logger,
		offsets: client.Database(cfg.Database).Collection(OffsetsCollection),
		conv:    converter{decimals: cfg.Decimals, subMillis: cfg.SubMillis}}
	var hello bson.M
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, classify(fmt.Errorf("connecting to the mongo target: %w", err))
	}
	s.log.Info("mongo target ready", zap.String("database", cfg.Database), zap.Any("maxWireVersion", hello["maxWireVersion"]),
		zap.String("decimals", cfg.Decimals), zap.String("sub_millis", cfg.SubMillis))
	return s, nil
}

// Close implements sink.Sink; it may be called more than once.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.client.Disconnect(context.Background()) })
	return s.closeErr
}

// Apply implements sink.Sink: stale check, the bulk writes of each
// collection in order, then the offset (see the package doc for why this
// order is safe without a transaction).
func (s *Sink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	plans, err := s.plan(rows)
	if err != nil {
		return err
	}
	stored, found, err := s.stored(ctx, off)
	if err != nil {
		return err
	}
	if found && stored > off.From {
		return fmt.Errorf("%s/%d: batch from %d, stored offset %d: %w", off.Topic, off.Partition, off.From, stored, sink.ErrStale)
	}
	for _, p := range plans {
		coll := s.client.Database(p.db).Collection(p.coll)
		for _, ph := range p.phases {
			if err := s.bulk(ctx, coll, ph); err != nil {
				return err
			}
		}
	}
	return s.storeOffset(ctx, off)
}

// bulk runs one phase as an unordered bulk write.
func (s *Sink) bulk(ctx context.Context, coll *mongo.Collection, ph *phase) error {
	models := make([]mongo.WriteModel, len(ph.writes))
	for i, w := range ph.writes {
		models[i] = w.model
	}
	res, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return s.writeError(ctx, coll, ph, err)
	}
	if s.cfg.OnMissing != nil && res.MatchedCount+res.UpsertedCount+res.DeletedCount < int64(len(models)) {
		s.missingPartials(ctx, coll, ph)
	}
	return nil
}

// missingPartials reports partial updates whose document is missing; the
// bulk result only counts them, so the _ids are looked up.
func (s *Sink) missingPartials(ctx context.Context, coll *mongo.Collection, ph *phase) {
	for _, w := range ph.writes {
		if !w.partial {
			continue
		}
		n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: w.id}})
		if err == nil && n == 0 {
			s.log.Warn("update without full document for a missing document: not applied",
				zap.String("topic", w.row.Topic), zap.Int32("partition", w.row.Partition), zap.Int64("offset", w.row.Offset),
				zap.String("collection", coll.Name()))
			s.cfg.OnMissing(w.row)
		}
	}
}

func offsetID(group, topic string, partition int32) bson.D {
	return bson.D{{Key: "group", Value: group}, {Key: "topic", Value: topic}, {Key: "partition", Value: partition}}
}

// stored reads the stored next offset of off's partition.
func (s *Sink) stored(ctx context.Context, off sink.Offset) (int64, bool, error) {
	var doc struct {
		Next int64 `bson:"next"`
	}
	err := s.offsets.FindOne(ctx, bson.D{{Key: "_id", Value: offsetID(off.Group, off.Topic, off.Partition)}}).Decode(&doc)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return 0, false, nil
	case err != nil:
		return 0, false, classify(fmt.Errorf("reading %s: %w", OffsetsCollection, err))
	}
	return doc.Next, true, nil
}

// storeOffset sets next only where the stored offset is not past From:
// otherwise the upsert collides with the existing _id, which means another
// worker moved the partition on while this batch was written.
func (s *Sink) storeOffset(ctx context.Context, off sink.Offset) error {
	filter := bson.D{{Key: "_id", Value: offsetID(off.Group, off.Topic, off.Partition)},
		{Key: "next", Value: bson.D{{Key: "$lte", Value: off.From}}}}
	_, err := s.offsets.UpdateOne(ctx, filter, offsetUpdate(off.Group, off.Topic, off.Partition, off.Next), options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		s.log.Warn("offset moved past the batch while it was written (another consumer took the partition)",
			zap.String("topic", off.Topic), zap.Int32("partition", off.Partition), zap.Int64("from", off.From))
		return fmt.Errorf("%s/%d: storing offset %d: %w", off.Topic, off.Partition, off.Next, sink.ErrStale)
	}
	if err != nil {
		return classify(fmt.Errorf("storing offset %d of %s/%d: %w", off.Next, off.Topic, off.Partition, err))
	}
	return nil
}

func offsetUpdate(group, topic string, partition int32, next int64) bson.D {
	return bson.D{{Key: "$set", Value: bson.D{{Key: "group", Value: group}, {Key: "topic", Value: topic},
		{Key: "partition", Value: partition}, {Key: "next", Value: next},
		{Key: "updated_at", Value: bson.NewDateTimeFromTime(time.Now())}}}}
}

// Offsets implements sink.Sink.
func (s *Sink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	cur, err := s.offsets.Find(ctx, bson.D{{Key: "group", Value: group}, {Key: "topic", Value: topic}})
	if err != nil {
		return nil, classify(fmt.Errorf("reading %s: %w", OffsetsCollection, err))
	}
	var docs []struct {
		Partition int32 `bson:"partition"`
		Next      int64 `bson:"next"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, classify(fmt.Errorf("reading %s: %w", OffsetsCollection, err))
	}
	out := make(map[int32]int64, len(docs))
	for _, d := range docs {
		out[d.Partition] = d.Next
	}
	return out, nil
}

// SetOffsets implements sink.Sink.
func (s *Sink) SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error {
	for p, n := range next {
		id := bson.D{{Key: "_id", Value: offsetID(group, topic, p)}}
		var err error
		if n < 0 {
			_, err = s.offsets.DeleteOne(ctx, id)
		} else {
			_, err = s.offsets.UpdateOne(ctx, id, offsetUpdate(group, topic, p, n), options.UpdateOne().SetUpsert(true))
		}
		if err != nil {
			return classify(fmt.Errorf("setting offset of %s/%d: %w", topic, p, err))
		}
	}
	return nil
}
