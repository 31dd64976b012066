package pg

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

const ordersDDL = `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer, sku varchar(32), qty bigint,
	price numeric(10,2), status text, note text, created_at timestamp(6), updated_at timestamptz, weight double precision)`

// BenchmarkUpsert writes batches of 1000 small rows, half new, half
// updates of existing rows.
func BenchmarkUpsert(b *testing.B) {
	p := newBenchFixture(b)
	ev := eventtest.Small()
	next := int64(0)
	id := int64(0)
	start := time.Now()
	rows := 0
	for b.Loop() {
		batch := make([]sink.Row, 1000)
		for i := range batch {
			v := append([]event.Value(nil), ev.After...)
			if i%2 == 0 || id == 0 {
				id++
				v[0] = event.IntValue(id)
			} else {
				v[0] = event.IntValue(id - 1)
			}
			batch[i] = sink.Row{Op: event.OpInsert, Table: "orders", Columns: ev.Columns, Key: []int{0}, Values: v}
		}
		next += 1000
		if err := p.Apply(context.Background(), batch, sink.Offset{Group: "g", Topic: "t", From: next - 1000, Next: next}); err != nil {
			b.Fatal(err)
		}
		rows += len(batch)
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

func newBenchFixture(b *testing.B) *Sink {
	pgs := testenv.SharedPostgres(b)
	db := pgs.CreateDatabase(b)
	conn, err := pgs.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ordersDDL); err != nil {
		b.Fatal(err)
	}
	conn.Close()
	s, err := New(context.Background(), Config{DSN: pgs.DSN(db)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
