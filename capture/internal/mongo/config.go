package mongo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/capture/internal/filter"
)

// Watch modes.
const (
	WatchDeployment  = "deployment"
	WatchDatabase    = "database"
	WatchCollections = "collections"
)

// Full-document modes (the change stream's fullDocument and
// fullDocumentBeforeChange options).
const (
	FullDocumentOff           = "off" // the server default: no document on updates
	FullDocumentUpdateLookup  = "updateLookup"
	FullDocumentWhenAvailable = "whenAvailable"
	FullDocumentRequired      = "required"
)

// Config of a Source. Zero values take the defaults noted.
type Config struct {
	// URI is the connection string (with credentials). Required.
	URI string
	// Watch is deployment (default), database or collections.
	Watch string
	// Database is the watched database (watch: database). Required there.
	Database string
	// Collections are the "db.collection" names watched with one stream
	// each (watch: collections). Required there.
	Collections []string
	// Include and Exclude are db.collection patterns (globs per part);
	// events of other collections are dropped. The admin, config and local
	// databases and system.* collections are never captured.
	Include, Exclude []string
	// FullDocument is updateLookup (default), whenAvailable, required or
	// off. FullDocumentBeforeChange is off (default), whenAvailable or
	// required (needs changeStreamPreAndPostImages on the collections).
	FullDocument             string
	FullDocumentBeforeChange string
	// Pipeline is an optional user pipeline as an Extended JSON array of
	// stages ($match, $addFields, $project, ...), appended to the change
	// stream. It must keep _id (the resume token) intact.
	Pipeline string
	// MaxAwait is how long the server waits for new events on each
	// getMore; it paces heartbeats. Default 1s.
	MaxAwait time.Duration
	// Heartbeat is how often a quiet stream reports a newer position
	// (postBatchResumeToken, on servers that have it). Default 5s.
	Heartbeat time.Duration
	// SplitLargeEvents appends $changeStreamSplitLargeEvent to the
	// pipeline (MongoDB 7.0+, 6.0.9+) so events over 16 MiB arrive as
	// fragments, which are reassembled before encoding.
	SplitLargeEvents bool
	// Snapshot, when set, turns on initial and on-demand snapshots.
	Snapshot *SnapshotConfig
	// Name is the capture name (Debezium source.name); Version the Sluice
	// version.
	Name, Version string
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

func (c *Config) setDefaults() {
	if c.Watch == "" {
		c.Watch = WatchDeployment
	}
	if c.FullDocument == "" {
		c.FullDocument = FullDocumentUpdateLookup
	}
	if c.FullDocumentBeforeChange == "" {
		c.FullDocumentBeforeChange = FullDocumentOff
	}
	if c.MaxAwait <= 0 {
		c.MaxAwait = time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Problem is one config problem: the field (as named in the capture
// config, under source.) and what is wrong.
type Problem struct{ Field, Msg string }

// Check reports every problem of the source settings. It does not
// connect. Config paths are those of capture.yaml under source.
func Check(c Config) []Problem {
	c.setDefaults()
	var ps []Problem
	add := func(field, f string, args ...any) { ps = append(ps, Problem{field, fmt.Sprintf(f, args...)}) }
	if c.URI == "" {
		add("uri", "required: a mongodb:// or mongodb+srv:// connection string (put the password in an environment variable: ${MONGO_URI})")
	} else if !strings.HasPrefix(c.URI, "mongodb://") && !strings.HasPrefix(c.URI, "mongodb+srv://") {
		add("uri", "want a mongodb:// or mongodb+srv:// connection string")
	}
	switch c.Watch {
	case WatchDeployment:
	case WatchDatabase:
		if c.Database == "" {
			add("database", "required with watch: database")
		}
	case WatchCollections:
		if len(c.Collections) == 0 {
			add("collections", "required with watch: collections: a list of db.collection names")
		}
	default:
		add("watch", "%q: want deployment, database or collections", c.Watch)
	}
	if c.Watch != WatchCollections && len(c.Collections) > 0 {
		add("collections", "only used with watch: collections (use include/exclude patterns with watch: %s)", c.Watch)
	}
	if c.Watch != WatchDatabase && c.Database != "" {
		add("database", "only used with watch: database")
	}
	for i, ns := range c.Collections {
		if db, coll, ok := strings.Cut(ns, "."); !ok || db == "" || coll == "" {
			add(fmt.Sprintf("collections[%d]", i), "%q: want db.collection", ns)
		} else if slices.Contains(c.Collections[:i], ns) {
			add(fmt.Sprintf("collections[%d]", i), "%q is listed twice", ns)
		}
	}
	if _, err := filter.New(c.Include, c.Exclude, nil); err != nil {
		add("include", "%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if !slices.Contains([]string{FullDocumentOff, FullDocumentUpdateLookup, FullDocumentWhenAvailable, FullDocumentRequired}, c.FullDocument) {
		add("full_document", "%q: want updateLookup, whenAvailable, required or off", c.FullDocument)
	}
	if !slices.Contains([]string{FullDocumentOff, FullDocumentWhenAvailable, FullDocumentRequired}, c.FullDocumentBeforeChange) {
		add("full_document_before_change", "%q: want off, whenAvailable or required", c.FullDocumentBeforeChange)
	}
	if _, err := parsePipeline(c.Pipeline); err != nil {
		add("pipeline", "%v", err)
	}
	return ps
}

// parsePipeline reads the user pipeline: an Extended JSON array of
// single-stage documents.
func parsePipeline(s string) ([]bson.Raw, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var wrap struct {
		P []bson.Raw `bson:"p"`
	}
	if err := bson.UnmarshalExtJSON([]byte(`{"p":`+s+`}`), false, &wrap); err != nil {
		return nil, fmt.Errorf("not an Extended JSON array of stages: %w", err)
	}
	var errs []error
	for i, st := range wrap.P {
		elems, err := st.Elements()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("stage %d: %w", i, err))
		case len(elems) != 1 || !strings.HasPrefix(elems[0].Key(), "$"):
			errs = append(errs, fmt.Errorf("stage %d: want one {\"$stage\": ...} document, got %s", i, st))
		case slices.Contains([]string{"$out", "$merge", "$group", "$sort", "$lookup", "$changeStream"}, elems[0].Key()):
			errs = append(errs, fmt.Errorf("stage %d: %s is not allowed in a change-stream pipeline", i, elems[0].Key()))
		}
	}
	return wrap.P, errors.Join(errs...)
}
