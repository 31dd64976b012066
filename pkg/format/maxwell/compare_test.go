package maxwell

import (
	"fmt"
	"slices"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// carried returns e reduced to what the Maxwell envelope carries, which is
// what a decode of its encoding must give back exactly. It is the format's
// contract written as code: anything zeroed here is lost on the way.
func carried(e *event.Event) event.Event {
	c := event.Event{
		Op:           e.Op,
		Database:     e.Database,
		Table:        e.Table,
		Columns:      e.Columns,
		SourceTimeMs: e.SourceTimeMs / 1000 * 1000, // ts is in seconds
	}
	switch e.Op {
	case event.OpSnapshotStart, event.OpSnapshotComplete:
		return c
	case event.OpSnapshot:
		c.Key, c.After = e.Key, e.After
		c.Source = event.Source{ServerID: e.Source.ServerID, GTID: e.Source.GTID, File: e.Source.File, Pos: e.Source.Pos}
		c.Tx = event.Tx{ID: e.Source.GTID}
		return c
	}
	c.Key, c.Before, c.After = e.Key, e.Before, e.After
	c.Source = event.Source{ServerID: e.Source.ServerID, GTID: e.Source.GTID, File: e.Source.File, Pos: e.Source.Pos, Thread: e.Source.Thread}
	c.Tx = event.Tx{ID: e.Source.GTID, XID: e.Tx.XID, Seq: e.Tx.Seq, Last: e.Tx.Last}
	return c
}

// diffEvent describes the first difference between two events, or "".
// Rows compare with Value.Equal (an empty and a nil set or byte slice are
// the same value); a nil row only equals an empty one.
func diffEvent(want, got *event.Event) string {
	switch {
	case want.Op != got.Op:
		return fmt.Sprintf("op %v, want %v", got.Op, want.Op)
	case want.Database != got.Database || want.Table != got.Table:
		return fmt.Sprintf("table %s.%s, want %s.%s", got.Database, got.Table, want.Database, want.Table)
	case !slices.Equal(want.Columns, got.Columns):
		return fmt.Sprintf("columns\n got %v\nwant %v", got.Columns, want.Columns)
	case !slices.Equal(want.Key, got.Key):
		return fmt.Sprintf("key %v, want %v", got.Key, want.Key)
	case want.Source != got.Source:
		return fmt.Sprintf("source\n got %+v\nwant %+v", got.Source, want.Source)
	case want.Tx != got.Tx:
		return fmt.Sprintf("tx %+v, want %+v", got.Tx, want.Tx)
	case want.SourceTimeMs != got.SourceTimeMs || want.EmitTimeMs != got.EmitTimeMs:
		return fmt.Sprintf("times %d/%d, want %d/%d", got.SourceTimeMs, got.EmitTimeMs, want.SourceTimeMs, want.EmitTimeMs)
	case want.Position != got.Position || want.Origin != got.Origin:
		return fmt.Sprintf("position/origin %q/%q, want %q/%q", got.Position, got.Origin, want.Position, want.Origin)
	}
	if d := diffRow("before", want.Before, got.Before, want.Columns); d != "" {
		return d
	}
	return diffRow("after", want.After, got.After, want.Columns)
}

func diffRow(which string, want, got []event.Value, cols []event.Column) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%s has %d values, want %d", which, len(got), len(want))
	}
	for i := range want {
		if !want[i].Equal(got[i]) {
			name := fmt.Sprint(i)
			if i < len(cols) {
				name = cols[i].Name
			}
			return fmt.Sprintf("%s.%s = %+v, want %+v", which, name, got[i], want[i])
		}
	}
	return ""
}
