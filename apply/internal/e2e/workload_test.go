package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
	"github.com/sluice-cdc/sluice/pkg/format/maxwell"
)

// The "accounts" workload: rows keyed by id, each change sets a version
// that grows per key, so the final state says which change was applied
// last for every key.
var accountCols = []event.Column{
	{Name: "id", Type: "bigint(20)", Kind: event.Int},
	{Name: "version", Type: "bigint(20)", Kind: event.Int},
	{Name: "balance", Type: "decimal(12,2)", Kind: event.Decimal},
	{Name: "owner", Type: "varchar(64)", Kind: event.String},
}

const (
	accountsMaria = "CREATE TABLE accounts (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, balance DECIMAL(12,2) NOT NULL, owner VARCHAR(64) NOT NULL)"
	accountsPG    = "CREATE TABLE accounts (id bigint PRIMARY KEY, version bigint NOT NULL, balance numeric(12,2) NOT NULL, owner varchar(64) NOT NULL)"
)

// accounts generates changes and keeps the expected final state.
type accounts struct {
	rng   *rand.Rand
	keys  int
	state map[int64]*[3]string // id -> version, balance, owner; nil = deleted
	ver   map[int64]int64
}

func newAccounts(seed uint64, keys int) *accounts {
	return &accounts{rng: rand.New(rand.NewPCG(seed, 1)), keys: keys, state: map[int64]*[3]string{}, ver: map[int64]int64{}}
}

func (a *accounts) row(id int64) []event.Value {
	s := a.state[id]
	return []event.Value{event.IntValue(id), event.IntValue(a.ver[id]), event.DecimalValue(s[1]), event.StringValue(s[2])}
}

// next returns one random change: insert, update or delete.
func (a *accounts) next() event.Event {
	id := int64(a.rng.IntN(a.keys) + 1)
	e := event.Event{Database: "shop", Table: "accounts", Columns: accountCols, Key: []int{0}}
	a.ver[id]++
	v := a.ver[id]
	cur := a.state[id]
	switch {
	case cur == nil:
		a.state[id] = &[3]string{fmt.Sprint(v), fmt.Sprintf("%d.%02d", a.rng.IntN(10000), a.rng.IntN(100)), fmt.Sprintf("owner-%d-%d ✓", id, v)}
		e.Op, e.After = event.OpInsert, a.row(id)
	case a.rng.IntN(10) == 0:
		e.Op, e.Before = event.OpDelete, a.row(id)
		a.state[id] = nil
		delete(a.state, id)
	default:
		e.Before = a.row(id)
		n := *cur
		n[0], n[1] = fmt.Sprint(v), fmt.Sprintf("%d.%02d", a.rng.IntN(10000), a.rng.IntN(100))
		a.state[id] = &n
		e.Op, e.After = event.OpUpdate, a.row(id)
	}
	return e
}

func (a *accounts) records(t *testing.T, topic string, n int) []*kgo.Record {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = a.next()
	}
	return records(t, topic, &maxwell.Encoder{}, evs)
}

// expected is the final state as "id|version|balance|owner" rows by id.
func (a *accounts) expected() []string {
	var out []string
	for id := int64(1); id <= int64(a.keys); id++ {
		if s := a.state[id]; s != nil {
			out = append(out, fmt.Sprintf("%d|%d|%s|%s", id, a.ver[id], s[1], s[2]))
		}
	}
	return out
}

const accountsQuery = "SELECT id, version, balance, owner FROM accounts ORDER BY id"

var _ = format.Maxwell
