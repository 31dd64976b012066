package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// BenchmarkUpsert writes batches of 1000 small rows (10 columns), half
// inserts of new keys and half updates of existing ones, with each
// method. rows/s counts the time in Apply only (conversion included).
//
// On the 2-core development box, PostgreSQL 15 on the same machine,
// ranges over several runs (go test -bench Upsert -benchtime=800x -count=4):
//
//	arrays   86,000-118,000 rows/s  (the default; median about 105,000)
//	copy     77,000- 96,000 rows/s
//	values   44,000- 59,000 rows/s
//
// The ranking held in every run. PostgreSQL's own work dominates: the sink's conversion and encoding
// take about 1 ms of the ~9 ms a batch costs.
func BenchmarkUpsert(b *testing.B) {
	for _, m := range methods {
		b.Run(m.name, func(b *testing.B) { benchUpsert(b, m.m, 1000) })
	}
}

func benchUpsert(b *testing.B, m method, batch int) {
	f := newFixture(b, nil)
	f.s.method = m
	f.exec(`CREATE TABLE bench (id bigint PRIMARY KEY, a integer, b bigint, c text, d varchar(32),
		e numeric(12,2), f timestamp(6), g double precision, h boolean, i text)`)
	tb := newTable("bench", "id", "bigint(20)", "a", "int(11)", "b", "bigint(20)", "c", "text", "d", "varchar(32)",
		"e", "decimal(12,2)", "f", "datetime(6)", "g", "double", "h", "tinyint(1)", "i", "text")
	// Values depend on the offset too, so an update changes the row.
	row := func(off, id int64) sink.Row {
		return tb.row(event.OpInsert, off, i64(id), i64(off%1000), i64(id*7919), str(fmt.Sprintf("name %d", off)),
			str("abcdefghij"), event.DecimalValue(fmt.Sprintf("%d.%02d", id%100000, id%100)),
			event.DateTimeValue("2024-05-06 07:08:09.123456"), event.FloatValue(float64(id)/3), i64(id%2), str("some more text here"))
	}
	var (
		nextID int64 // ids below exist
		upd    int64 // the next existing id to update, cycling
		off    int64
	)
	// build makes a batch whose odd rows, up to updates of them, update
	// distinct existing keys, and whose other rows insert new ones.
	build := func(updates int) []sink.Row {
		rows := make([]sink.Row, 0, batch)
		exist := nextID
		for i := 0; i < batch; i++ {
			id := nextID
			if i%2 == 1 && i/2 < updates {
				id, upd = upd, (upd+1)%exist
			} else {
				nextID++
			}
			rows = append(rows, row(off, id))
			off++
		}
		return rows
	}
	apply := func(rows []sink.Row) {
		o := sink.Offset{Group: "g", Topic: rows[0].Topic, From: rows[0].Offset, Next: rows[len(rows)-1].Offset + 1}
		if err := f.s.Apply(f.ctx, rows, o); err != nil {
			b.Fatal(err)
		}
	}
	apply(build(0)) // rows to update
	b.ResetTimer()
	var spent time.Duration
	for range b.N {
		// Building rows is the consumer's work, not the sink's: it is
		// left out of rows/s (but not out of ns/op: StopTimer would stop
		// the world every batch).
		rows := build(batch / 2)
		start := time.Now()
		apply(rows)
		spent += time.Since(start)
	}
	b.ReportMetric(float64(b.N*batch)/spent.Seconds(), "rows/s")
}
