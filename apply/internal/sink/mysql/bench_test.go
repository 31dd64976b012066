package mysql

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/event/eventtest"
)

// BenchmarkUpsert writes batches of eventtest.Small rows, half inserts of
// new keys and half updates of existing ones, each batch one Apply (one
// transaction with its offset), and reports rows/s. "interpolate" is the
// default (the driver writes the arguments into the statement text, one
// round trip); "prepared" sets interpolateParams=false in the DSN (a
// server-side prepare per statement).
func BenchmarkUpsert(b *testing.B) {
	for _, mode := range []string{"interpolate", "prepared"} {
		for _, size := range []int{500, 1000, 5000} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode, size), func(b *testing.B) {
				benchUpsert(b, size, mode == "interpolate")
			})
		}
	}
}

// BenchmarkUpsertParallel runs one worker per partition, each on its own
// key range, as the consumer does; rows/s is the total.
func BenchmarkUpsertParallel(b *testing.B) {
	for _, workers := range []int{2, 4} {
		b.Run(fmt.Sprintf("workers=%d/batch=1000", workers), func(b *testing.B) {
			f := newFixture(b, nil)
			createOrders(f)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			per := max(b.N/workers, 1)
			b.ResetTimer()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					g := newGen(1000, int64(w)<<40, int32(w))
					for range per {
						rows, o := g.batch()
						if err := f.s.Apply(context.Background(), rows, o); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(per*workers*1000)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func createOrders(f *fixture) {
	f.exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, sku VARCHAR(32), qty INT UNSIGNED," +
		" price DECIMAL(10,2), status ENUM('new','paid','shipped'), note TEXT, created_at DATETIME(6)," +
		" updated_at TIMESTAMP NULL, weight DOUBLE)")
}

// gen makes batches of one partition: half updates of the previous
// batch's new rows, half inserts of new keys from base upwards.
type gen struct {
	size      int
	partition int32
	ev        event.Event
	next, off int64
}

func newGen(size int, base int64, partition int32) *gen {
	return &gen{size: size, partition: partition, ev: eventtest.Small(), next: base}
}

func (g *gen) row(id int64) sink.Row {
	vals := append([]event.Value(nil), g.ev.After...)
	vals[0] = event.IntValue(id)
	vals[3] = event.UintValue(uint64(g.off))
	r := sink.Row{Op: event.OpInsert, Table: "orders", Columns: g.ev.Columns, Key: g.ev.Key, Values: vals,
		Topic: "orders", Partition: g.partition, Offset: g.off}
	g.off++
	return r
}

func (g *gen) batch() ([]sink.Row, sink.Offset) {
	rows := make([]sink.Row, 0, g.size)
	from := g.off
	for i := range int64(g.size / 2) {
		rows = append(rows, g.row(g.next-int64(g.size/2)+i))
	}
	for range g.size - g.size/2 {
		rows = append(rows, g.row(g.next))
		g.next++
	}
	return rows, sink.Offset{Group: "g", Topic: "orders", Partition: g.partition, From: from, Next: g.off}
}

func benchUpsert(b *testing.B, size int, interpolate bool) {
	f := newFixture(b, func(c *Config) {
		if !interpolate {
			c.DSN += "&interpolateParams=false"
		}
	})
	createOrders(f)
	ctx := context.Background()
	g := newGen(size, 0, 0)
	rows, o := g.batch() // seeds the rows the first measured batch updates
	if err := f.s.Apply(ctx, rows, o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		rows, o := g.batch()
		b.StartTimer()
		if err := f.s.Apply(ctx, rows, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
}
