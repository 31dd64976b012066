package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
)

// transientCodes are server error codes worth retrying with the same
// batch: the primary, the network or a lock will be back.
var transientCodes = map[int]string{
	6:     "host unreachable",
	7:     "host not found",
	89:    "network timeout",
	91:    "shutdown in progress",
	112:   "write conflict",
	189:   "primary stepped down",
	262:   "exceeded time limit",
	9001:  "socket exception",
	10107: "not writable primary",
	11600: "interrupted at shutdown",
	11602: "interrupted due to repl state change",
	13435: "not primary, secondaryOk false",
	13436: "not primary or secondary",
}

// classify marks an error transient when the same write may succeed
// later: network errors, timeouts, server selection, step-downs, write
// concern errors and errors the server labels retryable.
func classify(err error) error {
	if err == nil || sink.Retryable(err) {
		return err
	}
	if isTransient(err) {
		return sink.Transient(err)
	}
	return err
}

func isTransient(err error) bool {
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, mongo.ErrClientDisconnected) {
		return true
	}
	var sse topology.ServerSelectionError
	if errors.As(err, &sse) {
		return true
	}
	var le mongo.LabeledError
	if errors.As(err, &le) && (le.HasErrorLabel("RetryableWriteError") || le.HasErrorLabel("TransientTransactionError")) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for c := range transientCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	return false
}

// writeError turns a bulk write failure into a *sink.RowError for the
// document the server refused (duplicate key on a unique secondary index,
// document too large, invalid value), or a transient error. Servers do not
// all report the failing write's index faithfully (FerretDB reports 0), so
// a phase of several writes is written again one write at a time to find
// it: every write is idempotent, so this changes nothing already written.
func (s *Sink) writeError(ctx context.Context, coll *mongo.Collection, ph *phase, err error) error {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 {
		return classify(fmt.Errorf("bulk write to %s.%s: %w", coll.Database().Name(), coll.Name(), err))
	}
	we := bwe.WriteErrors[0]
	if transientCodes[we.Code] != "" || isIDDuplicate(we) {
		// A duplicate _id is two upserts of one _id racing (another
		// worker, or a server-side retry): the batch succeeds when retried.
		return sink.Transient(fmt.Errorf("bulk write to %s.%s: %w", coll.Database().Name(), coll.Name(), err))
	}
	if len(ph.writes) > 1 {
		for i := range ph.writes {
			one := &phase{writes: ph.writes[i : i+1]}
			_, err1 := coll.BulkWrite(ctx, []mongo.WriteModel{ph.writes[i].model})
			if err1 != nil {
				return s.writeError(ctx, coll, one, err1)
			}
		}
		// Written one by one without error: the refusal depended on the
		// other writes (say, two documents swapping a unique value).
		return fmt.Errorf("bulk write to %s.%s refused, but each write succeeds alone: %w", coll.Database().Name(), coll.Name(), err)
	}
	w := ph.writes[0]
	what := fmt.Sprintf("code %d", we.Code)
	if we.Code == 11000 || we.Code == 11001 {
		what = "duplicate key on a unique secondary index"
	}
	idText, _ := valueExtJSON(w.id)
	return &sink.RowError{Row: w.row, Column: "_id", Value: truncate(string(idText)),
		Err: fmt.Errorf("%s.%s refused the document (%s): %s", coll.Database().Name(), coll.Name(), what, we.Message)}
}

// isIDDuplicate reports a duplicate key error on the _id index.
func isIDDuplicate(we mongo.BulkWriteError) bool {
	return (we.Code == 11000 || we.Code == 11001) && (strings.Contains(we.Message, "index: _id_ ") || strings.Contains(we.Message, "_id_ dup key"))
}
