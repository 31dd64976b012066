package testenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestMongoChangeStreamSupport probes which change-stream features the
// change-stream test server has, one subtest each, and logs a table. It
// documents the server for the Mongo capture tests: a feature listed in
// javaServerSupports must keep working (the subtest fails if it breaks); a
// feature not listed is logged as unsupported, and noted if it starts
// working (say, after a version bump), so the list can be updated. Against
// a real replica set (SLUICE_TEST_MONGO_URI) every feature must work.
func TestMongoChangeStreamSupport(t *testing.T) {
	m := MongoJavaServer(t)
	client := m.Connect(t)
	db := client.Database(m.CreateDatabase(t))
	p := &csProbe{db: db, client: client}

	var (
		mu      sync.Mutex
		results [][2]string
	)
	for _, f := range csFeatures {
		t.Run(f.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			err := f.probe(ctx, p, db.Collection(strings.NewReplacer(" ", "_", "/", "_", "$", "", "(", "", ")", "").Replace(f.name)))
			status := "yes"
			if err != nil {
				status = "no: " + firstLine(err.Error())
			}
			mu.Lock()
			results = append(results, [2]string{f.name, status})
			mu.Unlock()
			want := m.Real() || slices.Contains(javaServerSupports, f.name)
			switch {
			case err != nil && want:
				t.Errorf("%s on %s: %v", f.name, m.Kind(), err)
			case err != nil:
				t.Logf("UNSUPPORTED on %s: %v", m.Kind(), err)
			case !want:
				t.Logf("NOW SUPPORTED on %s: add %q to javaServerSupports", m.Kind(), f.name)
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "change-stream support on %s (%s):\n| feature | works |\n|---|---|\n", m.Kind(), m.URI())
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	t.Log(b.String())
}

// javaServerSupports lists the features mongo-java-server 1.47.0 passes.
var javaServerSupports = []string{
	"watch collection", "insert event", "delete event", "fullDocument updateLookup",
	"resumeAfter token", "startAfter token", "startAtOperationTime", "clusterTime",
	"$match pipeline",
}

type csProbe struct {
	db     *mongo.Database
	client *mongo.Client
}

type csFeature struct {
	name  string
	probe func(ctx context.Context, p *csProbe, c *mongo.Collection) error
}

var csFeatures = []csFeature{
	{"watch collection", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		return watchSees(ctx, func() (*mongo.ChangeStream, error) { return c.Watch(ctx, mongo.Pipeline{}) }, c)
	}},
	{"watch database", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		return watchSees(ctx, func() (*mongo.ChangeStream, error) { return p.db.Watch(ctx, mongo.Pipeline{}) }, c)
	}},
	{"watch deployment", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		return watchSees(ctx, func() (*mongo.ChangeStream, error) { return p.client.Watch(ctx, mongo.Pipeline{}) }, c)
	}},
	{"insert event", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, nil, func() error { return insert(ctx, c, 1) })
		if err != nil {
			return err
		}
		if err := expect(ev, "operationType", "insert", "fullDocument"); err != nil {
			return err
		}
		return keyIs(ev, 1)
	}},
	{"ns field", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, nil, func() error { return insert(ctx, c, 1) })
		if err != nil {
			return err
		}
		if coll, _ := ev.Lookup("ns", "coll").StringValueOK(); coll != c.Name() {
			return fmt.Errorf("event has no ns.coll %q: %s", c.Name(), ev)
		}
		return nil
	}},
	{"update event", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, func() error { return insert(ctx, c, 1) }, func() error {
			_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 2}}}})
			return err
		})
		if err != nil {
			return err
		}
		if err := expect(ev, "operationType", "update"); err != nil {
			return err
		}
		return keyIs(ev, 1)
	}},
	{"updateDescription", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, func() error { return insert(ctx, c, 1) }, func() error {
			_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 2}}}, {Key: "$unset", Value: bson.D{{Key: "b", Value: ""}}}})
			return err
		})
		if err != nil {
			return err
		}
		if _, err := ev.LookupErr("updateDescription", "updatedFields", "a"); err != nil {
			return fmt.Errorf("no updateDescription.updatedFields.a in %s", ev)
		}
		removed, ok := ev.Lookup("updateDescription", "removedFields").ArrayOK()
		if !ok || !strings.Contains(removed.String(), `"b"`) {
			return fmt.Errorf("no b in updateDescription.removedFields in %s", ev)
		}
		return nil
	}},
	{"replace event", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, func() error { return insert(ctx, c, 1) }, func() error {
			_, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "z", Value: 1}})
			return err
		})
		if err != nil {
			return err
		}
		if err := expect(ev, "operationType", "replace", "fullDocument"); err != nil {
			return err
		}
		return keyIs(ev, 1)
	}},
	{"delete event", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, func() error { return insert(ctx, c, 1) }, func() error {
			_, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}})
			return err
		})
		if err != nil {
			return err
		}
		if err := expect(ev, "operationType", "delete"); err != nil {
			return err
		}
		return keyIs(ev, 1)
	}},
	{"fullDocument updateLookup", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		opts := options.ChangeStream().SetFullDocument(options.UpdateLookup)
		ev, err := oneEventOpts(ctx, c, opts, func() error { return insert(ctx, c, 1) }, func() error {
			_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: "looked-up"}}}})
			return err
		})
		if err != nil {
			return err
		}
		if a, _ := ev.Lookup("fullDocument", "a").StringValueOK(); a != "looked-up" {
			return fmt.Errorf("fullDocument = %s, want the document after the update", ev.Lookup("fullDocument"))
		}
		return nil
	}},
	{"resumeAfter token", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		return resumeProbe(ctx, c, func(o *options.ChangeStreamOptionsBuilder, tok bson.Raw) { o.SetResumeAfter(tok) })
	}},
	{"startAfter token", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		return resumeProbe(ctx, c, func(o *options.ChangeStreamOptionsBuilder, tok bson.Raw) { o.SetStartAfter(tok) })
	}},
	{"postBatchResumeToken", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		cs, err := c.Watch(ctx, mongo.Pipeline{})
		if err != nil {
			return err
		}
		defer cs.Close(ctx)
		if cs.TryNext(ctx); cs.Err() != nil {
			return cs.Err()
		}
		if cs.ResumeToken() == nil {
			return errors.New("no resume token before the first event (no postBatchResumeToken)")
		}
		return nil
	}},
	{"clusterTime", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, nil, func() error { return insert(ctx, c, 1) })
		if err != nil {
			return err
		}
		if t, _, ok := ev.Lookup("clusterTime").TimestampOK(); !ok || t == 0 {
			return fmt.Errorf("clusterTime = %s, want a non-zero timestamp", ev.Lookup("clusterTime"))
		}
		return nil
	}},
	{"wallTime", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, nil, func() error { return insert(ctx, c, 1) })
		if err != nil {
			return err
		}
		return expect(ev, "wallTime")
	}},
	{"startAtOperationTime", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		ev, err := oneEvent(ctx, c, nil, func() error { return insert(ctx, c, 1) })
		if err != nil {
			return err
		}
		t, i, ok := ev.Lookup("clusterTime").TimestampOK()
		if !ok {
			return fmt.Errorf("no clusterTime to start at: %s", ev)
		}
		ts := bson.Timestamp{T: t, I: i}
		if err := insert(ctx, c, 2); err != nil {
			return err
		}
		cs, err := c.Watch(ctx, mongo.Pipeline{}, options.ChangeStream().SetStartAtOperationTime(&ts))
		if err != nil {
			return err
		}
		defer cs.Close(ctx)
		first, err := next(ctx, cs)
		if err != nil {
			return err
		}
		if id := docKeyID(first); id != 1 {
			return fmt.Errorf("started at the insert of _id 1's cluster time, first event is for _id %v", id)
		}
		return nil
	}},
	{"$match pipeline", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		pipe := mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "fullDocument.keep", Value: true}}}}}
		cs, err := c.Watch(ctx, pipe)
		if err != nil {
			return err
		}
		defer cs.Close(ctx)
		if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}, {Key: "keep", Value: false}}); err != nil {
			return err
		}
		if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: 2}, {Key: "keep", Value: true}}); err != nil {
			return err
		}
		ev, err := next(ctx, cs)
		if err != nil {
			return err
		}
		if id := docKeyID(ev); id != 2 {
			return fmt.Errorf("first event after $match is for _id %v, want 2", id)
		}
		return nil
	}},
	{"pre-images (fullDocumentBeforeChange)", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		if err := p.db.CreateCollection(ctx, c.Name(), options.CreateCollection().SetChangeStreamPreAndPostImages(bson.D{{Key: "enabled", Value: true}})); err != nil {
			return fmt.Errorf("create with changeStreamPreAndPostImages: %w", err)
		}
		opts := options.ChangeStream().SetFullDocumentBeforeChange(options.Required)
		ev, err := oneEventOpts(ctx, c, opts, func() error { return insert(ctx, c, 1) }, func() error {
			_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 2}}}})
			return err
		})
		if err != nil {
			return err
		}
		return expect(ev, "fullDocumentBeforeChange")
	}},
	{"drop and invalidate events", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		if err := insert(ctx, c, 1); err != nil {
			return err
		}
		cs, err := c.Watch(ctx, mongo.Pipeline{})
		if err != nil {
			return err
		}
		defer cs.Close(ctx)
		if err := c.Drop(ctx); err != nil {
			return err
		}
		ev, err := next(ctx, cs)
		if err != nil {
			return err
		}
		if err := expect(ev, "operationType", "drop"); err != nil {
			return err
		}
		ev, err = next(ctx, cs)
		if err != nil {
			return err
		}
		return expect(ev, "operationType", "invalidate")
	}},
	{"transaction lsid/txnNumber", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		if err := insert(ctx, c, 0); err != nil { // creates the collection outside the transaction
			return err
		}
		ev, err := oneEvent(ctx, c, nil, func() error {
			s, err := p.client.StartSession()
			if err != nil {
				return err
			}
			defer s.EndSession(ctx)
			_, err = s.WithTransaction(ctx, func(ctx context.Context) (any, error) {
				return c.InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
			})
			return err
		})
		if err != nil {
			return err
		}
		return expect(ev, "lsid", "txnNumber")
	}},
	{"$changeStreamSplitLargeEvent stage", func(ctx context.Context, p *csProbe, c *mongo.Collection) error {
		cs, err := c.Watch(ctx, mongo.Pipeline{{{Key: "$changeStreamSplitLargeEvent", Value: bson.D{}}}})
		if err != nil {
			return err
		}
		return cs.Close(ctx)
	}},
}

// watchSees opens a stream, inserts into c and expects the insert.
func watchSees(ctx context.Context, open func() (*mongo.ChangeStream, error), c *mongo.Collection) error {
	cs, err := open()
	if err != nil {
		return err
	}
	defer cs.Close(ctx)
	if err := insert(ctx, c, 1); err != nil {
		return err
	}
	ev, err := next(ctx, cs)
	if err != nil {
		return err
	}
	return expect(ev, "operationType", "insert")
}

func oneEvent(ctx context.Context, c *mongo.Collection, before, action func() error) (bson.Raw, error) {
	return oneEventOpts(ctx, c, options.ChangeStream(), before, action)
}

// oneEventOpts runs before, opens a stream with opts, runs action and
// returns the first event.
func oneEventOpts(ctx context.Context, c *mongo.Collection, opts *options.ChangeStreamOptionsBuilder, before, action func() error) (bson.Raw, error) {
	if before != nil {
		if err := before(); err != nil {
			return nil, err
		}
	}
	cs, err := c.Watch(ctx, mongo.Pipeline{}, opts)
	if err != nil {
		return nil, err
	}
	defer cs.Close(ctx)
	if err := action(); err != nil {
		return nil, err
	}
	return next(ctx, cs)
}

// resumeProbe reads the first of two inserts, then reopens the stream from
// its token and expects the second.
func resumeProbe(ctx context.Context, c *mongo.Collection, set func(*options.ChangeStreamOptionsBuilder, bson.Raw)) error {
	cs, err := c.Watch(ctx, mongo.Pipeline{})
	if err != nil {
		return err
	}
	if err := insert(ctx, c, 1); err != nil {
		return err
	}
	if err := insert(ctx, c, 2); err != nil {
		return err
	}
	if _, err := next(ctx, cs); err != nil {
		return err
	}
	tok := cs.ResumeToken()
	_ = cs.Close(ctx)
	if tok == nil {
		return errors.New("no resume token after the first event")
	}
	opts := options.ChangeStream()
	set(opts, tok)
	cs, err = c.Watch(ctx, mongo.Pipeline{}, opts)
	if err != nil {
		return err
	}
	defer cs.Close(ctx)
	ev, err := next(ctx, cs)
	if err != nil {
		return err
	}
	if id := docKeyID(ev); id != 2 {
		return fmt.Errorf("resumed at _id %v, want 2", id)
	}
	return nil
}

func insert(ctx context.Context, c *mongo.Collection, id int32) error {
	_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "b", Value: "x"}})
	return err
}

// next waits for the next event (the ctx deadline bounds the wait).
func next(ctx context.Context, cs *mongo.ChangeStream) (bson.Raw, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !cs.Next(ctx) {
		if ctx.Err() != nil {
			return nil, errors.New("no event within 5s")
		}
		if err := cs.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("no event within 5s")
	}
	return slices.Clone(cs.Current), nil
}

// expect checks that ev has the fields; a name followed by a value that is
// not itself a field name ("operationType", "insert") checks the value.
func expect(ev bson.Raw, fields ...string) error {
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		v, err := ev.LookupErr(f)
		if err != nil {
			return fmt.Errorf("event has no %s: %s", f, ev)
		}
		if f == "operationType" && i+1 < len(fields) {
			if s, _ := v.StringValueOK(); s != fields[i+1] {
				return fmt.Errorf("operationType %s, want %s", v, fields[i+1])
			}
			i++
		}
	}
	return nil
}

// keyIs checks documentKey._id.
func keyIs(ev bson.Raw, id int32) error {
	if got := docKeyID(ev); got != id {
		return fmt.Errorf("documentKey %s, want {_id: %d}", ev.Lookup("documentKey"), id)
	}
	return nil
}

// docKeyID returns documentKey._id as an int32, or -1.
func docKeyID(ev bson.Raw) int32 {
	id, ok := ev.Lookup("documentKey", "_id").Int32OK()
	if !ok {
		return -1
	}
	return id
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 140 {
		s = s[:140] + "..."
	}
	return s
}
