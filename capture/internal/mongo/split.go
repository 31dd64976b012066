package mongo

import (
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Large events. A change event over 16 MiB (a large document with its
// pre-image, say) cannot be returned by the server; with
// split_large_events the pipeline ends in $changeStreamSplitLargeEvent
// (MongoDB 7.0+, 6.0.9+) and the server sends such an event as fragments:
// each has its own _id (resume token), splitEvent {fragment: i, of: n}
// and some of the event's top-level fields, in order. The stream
// reassembles them into the whole event before parsing it; the whole
// event's resume token is the last fragment's, so a stored position never
// points between fragments. The encoded message must still fit the Kafka
// limit (publish.ErrMessageTooLarge otherwise).

// splitStage is the stage appended to the pipeline.
const splitStage = "$changeStreamSplitLargeEvent"

// codeUnknownStage is the server's "Unrecognized pipeline stage name".
const codeUnknownStage = 40324

// assembler collects the fragments of one split event.
type assembler struct {
	of    int32
	next  int32  // the fragment expected next (1-based); 0 when idle
	elems bson.D // the event's fields so far, without _id and splitEvent
}

// busy reports whether fragments of an event are pending.
func (a *assembler) busy() bool { return a.next != 0 }

// add takes one event from the stream. It returns the whole event when ev
// is not a fragment or is the last one, and nil while fragments are
// pending.
func (a *assembler) add(ev bson.Raw) (bson.Raw, error) {
	sp, ok := ev.Lookup("splitEvent").DocumentOK()
	if !ok {
		if a.busy() {
			return nil, fmt.Errorf("change stream: an unsplit event arrived after fragment %d of %d of a split event", a.next-1, a.of)
		}
		return ev, nil
	}
	frag, ok1 := sp.Lookup("fragment").AsInt64OK()
	of, ok2 := sp.Lookup("of").AsInt64OK()
	if !ok1 || !ok2 || of < 1 || frag < 1 || frag > of {
		return nil, fmt.Errorf("change stream: malformed splitEvent %s", sp)
	}
	if !a.busy() {
		if frag != 1 {
			return nil, fmt.Errorf("change stream: fragment %d of %d arrived without fragment 1 (resumed between fragments?)", frag, of)
		}
		a.next, a.of, a.elems = 1, int32(of), nil
	}
	if int32(frag) != a.next || int32(of) != a.of {
		err := fmt.Errorf("change stream: fragment %d of %d arrived, want fragment %d of %d", frag, of, a.next, a.of)
		a.reset()
		return nil, err
	}
	elems, err := ev.Elements()
	if err != nil {
		a.reset()
		return nil, fmt.Errorf("change stream: fragment %d of %d: %w", frag, of, err)
	}
	var id bson.RawValue
	for _, e := range elems {
		switch e.Key() {
		case "_id":
			id = e.Value()
		case "splitEvent":
		default:
			a.elems = append(a.elems, bson.E{Key: e.Key(), Value: e.Value()})
		}
	}
	if int32(frag) < a.of {
		a.next++
		return nil, nil
	}
	if id.Type == 0 {
		a.reset()
		return nil, errors.New("change stream: the last fragment of a split event has no _id (resume token)")
	}
	whole, err := bson.Marshal(append(bson.D{{Key: "_id", Value: id}}, a.elems...))
	a.reset()
	if err != nil {
		return nil, fmt.Errorf("change stream: reassembling a split event: %w", err)
	}
	return whole, nil
}

func (a *assembler) reset() { a.next, a.of, a.elems = 0, 0, nil }

// splitRefused explains a server's refusal of $changeStreamSplitLargeEvent.
func splitRefused(err error, where string) error {
	msg := err.Error()
	code := int32(0)
	var ce interface{ HasErrorCode(int) bool }
	if errors.As(err, &ce) && ce.HasErrorCode(codeUnknownStage) {
		code = codeUnknownStage
	}
	if code == 0 && !strings.Contains(msg, splitStage) {
		return nil
	}
	return fmt.Errorf("%s: source.split_large_events: the server refused the %s stage (it needs MongoDB 7.0+ or 6.0.9+); set split_large_events: false (events over 16 MiB then fail on the server with BSONObjectTooLarge): %w", where, splitStage, err)
}
