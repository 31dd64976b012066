package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Stored is a capture's last position record, read without writing
// anything (capture status).
type Stored struct {
	// Found is false when the topic holds no record for the capture (or
	// its last one is a tombstone).
	Found bool
	// Kind is the source kind of the record: "mysql" or "mongo".
	Kind string
	// Position is the position object, Snapshot the snapshot state stored
	// with it ("" none); both JSON.
	Position, Snapshot string
	// UpdatedMs is when the record was written, Unix milliseconds.
	UpdatedMs int64
}

// ReadStored reads the last position record of capture from the
// positions topic (read_committed, up to the end offsets it has when
// called). Unlike Publisher.LastPosition it does not fence a running
// capture or create the topic: a missing topic is "nothing stored".
func ReadStored(ctx context.Context, opts []kgo.Opt, positionsTopic, capture string, txnTimeout time.Duration) (Stored, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return Stored{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, positionsTopic)
	if err != nil {
		return Stored{}, fmt.Errorf("listing topic %s: %w", positionsTopic, err)
	}
	if !td.Has(positionsTopic) {
		return Stored{}, nil
	}
	rec, err := lastRecord(ctx, adm, opts, positionsTopic, capture, txnTimeout+30*time.Second)
	if err != nil {
		return Stored{}, fmt.Errorf("reading the positions topic %s: %w", positionsTopic, err)
	}
	if rec == nil || rec.Value == nil {
		return Stored{}, nil
	}
	var v struct {
		MySQL     jsontext.Value `json:"mysql"`
		Mongo     jsontext.Value `json:"mongo"`
		Snapshot  jsontext.Value `json:"snapshot"`
		UpdatedMs int64          `json:"updated_ms"`
	}
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return Stored{}, fmt.Errorf("position record %s is not valid: %w", rec.Value, err)
	}
	s := Stored{Found: true, UpdatedMs: v.UpdatedMs}
	obj := func(x jsontext.Value) bool { return len(x) > 0 && x.Kind() == '{' }
	switch {
	case obj(v.MySQL):
		s.Kind, s.Position = "mysql", string(v.MySQL)
	case obj(v.Mongo):
		s.Kind, s.Position = "mongo", string(v.Mongo)
	default:
		return Stored{}, fmt.Errorf("position record %s has no position", rec.Value)
	}
	if obj(v.Snapshot) {
		s.Snapshot = string(v.Snapshot)
	}
	return s, nil
}
