package e2e

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/apply/internal/app"
)

func TestReplayConverges(t *testing.T) {
	e := newEnv(t)
	e.exec(e.mconn, accountsMaria)
	topic := e.topic("accounts")
	e.createTopic(topic, 2)
	a := newAccounts(7, 200)
	e.produce(a.records(t, topic, 2000))
	time.Sleep(50 * time.Millisecond)
	mid := time.Now()
	time.Sleep(50 * time.Millisecond)
	second := a.records(t, topic, 500)
	e.produce(second)

	cfg := e.applyConfig("mysql", "replay", topic)
	r := e.runApply(cfg)
	e.waitApplied(e.mconn, "mysql", "replay", topic)

	// Replay refuses while the group has a live member, naming it.
	_, err := app.RunReplay(context.Background(), cfg, app.Replay{Topic: topic, Partition: -1, Earliest: true}, zap.NewNop())
	if !errors.Is(err, app.ErrGroupActive) || !strings.Contains(err.Error(), "sluice") {
		t.Fatalf("replay with a live member: %v, want ErrGroupActive naming the member", err)
	}
	r.stop(t)

	check := func(what string) {
		t.Helper()
		if got, want := rowsText(t, e.mconn, accountsQuery), a.expected(); !slices.Equal(got, want) {
			t.Fatalf("%s: target differs from source (%d rows vs %d)", what, len(got), len(want))
		}
	}
	check("first run")

	// Damage the target by hand, replay from offset 0, run again.
	e.exec(e.mconn, "DELETE FROM accounts WHERE id % 3 = 0", "UPDATE accounts SET balance = 0, owner = 'damaged' WHERE id % 5 = 0",
		"INSERT INTO accounts VALUES (100000, 1, 1, 'not in source')")
	e.exec(e.mconn, "DELETE FROM accounts WHERE id = 100000") // a row the stream never had stays the user's business
	set, err := app.RunReplay(context.Background(), cfg, app.Replay{Topic: topic, Partition: -1, HasOffset: true, Offset: 0}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 2 || set[0] != 0 || set[1] != 0 {
		t.Fatalf("replay set %v, want both partitions at 0", set)
	}
	r = e.runApply(cfg)
	e.waitApplied(e.mconn, "mysql", "replay", topic)
	r.stop(t)
	check("after replay from offset 0")

	// Damage only rows the second half of the stream touched, replay from
	// a time between the halves.
	touched := map[string]bool{}
	for _, rec := range second {
		touched[string(rec.Key)] = true
	}
	e.exec(e.mconn, "UPDATE accounts SET owner = 'damaged'")
	if _, err := app.RunReplay(context.Background(), cfg, app.Replay{Topic: topic, Partition: -1, Time: mid}, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	r = e.runApply(cfg)
	e.waitApplied(e.mconn, "mysql", "replay", topic)
	r.stop(t)
	var repaired, damaged int
	for _, row := range rowsText(t, e.mconn, accountsQuery) {
		if strings.HasSuffix(row, "|damaged") {
			damaged++
		} else {
			repaired++
		}
	}
	if repaired == 0 || damaged == 0 {
		t.Fatalf("replay from a time: %d rows repaired, %d still damaged; want only the later changes replayed", repaired, damaged)
	}
}
