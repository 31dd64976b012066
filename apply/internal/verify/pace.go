package verify

import (
	"context"
	"slices"
	"time"

	"github.com/sluice-cdc/sluice/pkg/retry"
)

// pacer keeps the average read rate at or below rate rows per second by
// sleeping after each batch until the rows read so far are due.
type pacer struct {
	rate  int
	start time.Time
	rows  int64
}

func newPacer(rate int) *pacer { return &pacer{rate: rate, start: time.Now()} }

// wait records n rows read and sleeps as long as the rate requires.
func (p *pacer) wait(ctx context.Context, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.rate <= 0 || n == 0 {
		return nil
	}
	p.rows += int64(n)
	due := p.start.Add(time.Duration(float64(p.rows) / float64(p.rate) * float64(time.Second)))
	return retry.Sleep(ctx, time.Until(due))
}

func slicesSortByOrder(list []pending) {
	slices.SortFunc(list, func(a, b pending) int { return a.order - b.order })
}
