// Package origin keeps changes from looping between two databases that
// replicate into each other (DESIGN §9).
//
// apply, given an origin tag, writes a marker row into the target's
// sluice_origin table as the first statement of every batch transaction.
// A capture of that database sees the marker as the first row event of the
// transaction. Filter wraps the capture's source: a transaction whose
// marker names an origin in the drop list loses all its rows (its Commit
// still passes, so the stored position moves past it); a marker of any
// other origin tags the transaction's rows (the sluice.origin header). The
// bookkeeping tables themselves (sluice_origin, sluice_offsets) are never
// published.
//
// Because the marker comes first, a transaction is dropped while it
// streams: nothing is buffered (G7).
package origin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-cdc/sluice/capture/internal/source"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// Bookkeeping table names apply creates in its targets.
const (
	MarkerTable  = "sluice_origin"
	OffsetsTable = "sluice_offsets"
)

// IsBookkeeping reports whether table is one of apply's bookkeeping
// tables, whose rows a capture never publishes.
func IsBookkeeping(table string) bool {
	return strings.EqualFold(table, MarkerTable) || strings.EqualFold(table, OffsetsTable)
}

// Counter counts dropped rows (by origin); may be nil.
type Counter func(origin string, rows int)

// Filter is a source.Source that drops or tags the rows of marked
// transactions.
type Filter struct {
	inner   source.Source
	drop    map[string]bool
	dropped Counter
}

// New wraps src. drop lists the origin tags whose transactions are not
// published: the tags of the apply instances that write into this
// capture's source database.
func New(src source.Source, drop []string, dropped Counter) *Filter {
	f := &Filter{inner: src, drop: map[string]bool{}, dropped: dropped}
	for _, d := range drop {
		f.drop[d] = true
	}
	return f
}

// Run implements source.Source.
func (f *Filter) Run(ctx context.Context, from string, out chan<- source.Item) error {
	in := make(chan source.Item, max(cap(out), 1))
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- f.inner.Run(ctx, from, in) }()
	var tx txState
	forward := func(it source.Item) error {
		fwd, err := tx.step(&it, f.drop)
		if err != nil {
			return err
		}
		if tx.droppedNow > 0 && f.dropped != nil {
			f.dropped(tx.origin, tx.droppedNow)
		}
		if !fwd {
			return nil
		}
		select {
		case out <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		select {
		case it := <-in:
			if err := forward(it); err != nil {
				cancel()
				<-errc
				return err
			}
		case err := <-errc:
			// The inner source stopped and sends nothing more; what it
			// sent before still goes out, in order.
			for {
				select {
				case it := <-in:
					if ferr := forward(it); ferr != nil {
						return ferr
					}
				default:
					return err
				}
			}
		}
	}
}

// txState follows one source transaction at a time.
type txState struct {
	origin     string // origin of the current transaction, "" when unmarked
	dropping   bool
	droppedNow int // rows dropped by the last step, for the counter
}

// step decides whether it is forwarded, tagging rows of a marked
// transaction.
func (t *txState) step(it *source.Item, drop map[string]bool) (bool, error) {
	t.droppedNow = 0
	switch it.Kind {
	case source.Commit:
		t.origin, t.dropping = "", false
		return true, nil
	case source.Row:
	default:
		return true, nil
	}
	e := &it.Event
	if strings.EqualFold(e.Table, MarkerTable) && e.Op <= event.OpDelete && e.Op >= event.OpInsert {
		o, err := markerOrigin(e)
		if err != nil {
			return false, err
		}
		t.origin, t.dropping = o, drop[o]
		return false, nil
	}
	if IsBookkeeping(e.Table) {
		return false, nil
	}
	if t.dropping {
		t.droppedNow = 1
		return false, nil
	}
	if t.origin != "" {
		e.Origin = t.origin
	}
	return true, nil
}

// markerOrigin reads the origin column of a marker row.
func markerOrigin(e *event.Event) (string, error) {
	i := e.ColumnIndex("origin")
	row := e.After
	if e.Op == event.OpDelete {
		row = e.Before
	}
	if i < 0 || i >= len(row) {
		return "", fmt.Errorf("origin marker %s.%s has no origin column: not a table apply wrote; rename it or drop it", e.Database, e.Table)
	}
	v := row[i]
	if v.Kind != event.String {
		return "", errors.New("origin marker " + e.Database + "." + e.Table + ": origin column is " + v.Kind.String() + ", want a string")
	}
	return v.S, nil
}
