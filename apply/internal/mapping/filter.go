package mapping

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// Filter is a row condition: either a comparison (Column, Op, Value or
// Values) or a combination (And, Or). Values compare as numbers when both
// sides are numbers, else as text; NULL matches only ne.
//
//	filter: {and: [{column: status, op: in, values: [paid, shipped]},
//	               {column: total, op: gte, value: "100"}]}
type Filter struct {
	Column string   `yaml:"column"`
	Op     string   `yaml:"op"` // eq, ne, gt, gte, lt, lte, in
	Value  string   `yaml:"value"`
	Values []string `yaml:"values"`
	And    []Filter `yaml:"and"`
	Or     []Filter `yaml:"or"`
}

var filterOps = []string{"eq", "ne", "gt", "gte", "lt", "lte", "in"}

func (f *Filter) validate() error {
	n := 0
	if f.Column != "" || f.Op != "" {
		n++
	}
	if len(f.And) > 0 {
		n++
	}
	if len(f.Or) > 0 {
		n++
	}
	if n != 1 {
		return errors.New("a filter is exactly one of: a comparison (column, op, value), and: [...], or: [...]")
	}
	if len(f.And)+len(f.Or) > 0 {
		var errs []error
		for i := range f.And {
			if err := f.And[i].validate(); err != nil {
				errs = append(errs, fmt.Errorf("and[%d]: %w", i, err))
			}
		}
		for i := range f.Or {
			if err := f.Or[i].validate(); err != nil {
				errs = append(errs, fmt.Errorf("or[%d]: %w", i, err))
			}
		}
		return errors.Join(errs...)
	}
	if f.Column == "" {
		return errors.New("comparison without column")
	}
	if !slices.Contains(filterOps, f.Op) {
		return fmt.Errorf("op %q: want one of %v", f.Op, filterOps)
	}
	if (f.Op == "in") != (len(f.Values) > 0) {
		return fmt.Errorf("op %s: use values: [...] with in, value: with the others", f.Op)
	}
	return nil
}

// compiled is a Filter bound to a column list.
type compiled struct {
	col    int
	op     string
	values []string
	and    []*compiled
	or     []*compiled
}

func (f *Filter) compile(cols []event.Column) (*compiled, error) {
	c := &compiled{op: f.Op}
	for i := range f.And {
		s, err := f.And[i].compile(cols)
		if err != nil {
			return nil, err
		}
		c.and = append(c.and, s)
	}
	for i := range f.Or {
		s, err := f.Or[i].compile(cols)
		if err != nil {
			return nil, err
		}
		c.or = append(c.or, s)
	}
	if f.Column != "" {
		c.col = -1
		for i := range cols {
			if cols[i].Name == f.Column {
				c.col = i
			}
		}
		if c.col < 0 {
			return nil, fmt.Errorf("filter column %q is not in the source table", f.Column)
		}
		c.values = f.Values
		if f.Op != "in" {
			c.values = []string{f.Value}
		}
	}
	return c, nil
}

func (c *compiled) match(cols []event.Column, row []event.Value) bool {
	switch {
	case len(c.and) > 0:
		for _, s := range c.and {
			if !s.match(cols, row) {
				return false
			}
		}
		return true
	case len(c.or) > 0:
		for _, s := range c.or {
			if s.match(cols, row) {
				return true
			}
		}
		return false
	}
	if c.col >= len(row) {
		return false
	}
	v := row[c.col]
	if v.Kind == event.Null || v.Kind == event.Absent {
		return c.op == "ne"
	}
	text := valueText(v)
	if c.op == "in" {
		for _, w := range c.values {
			if compare(text, w) == 0 {
				return true
			}
		}
		return false
	}
	r := compare(text, c.values[0])
	switch c.op {
	case "eq":
		return r == 0
	case "ne":
		return r != 0
	case "gt":
		return r > 0
	case "gte":
		return r >= 0
	case "lt":
		return r < 0
	case "lte":
		return r <= 0
	}
	return false
}

// compare orders a and b as exact numbers when both parse as numbers, else
// as text.
func compare(a, b string) int {
	x, okA := new(big.Rat).SetString(a)
	y, okB := new(big.Rat).SetString(b)
	if okA && okB {
		return x.Cmp(y)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func valueText(v event.Value) string {
	switch v.Kind {
	case event.Int, event.Year:
		return strconv.FormatInt(v.I, 10)
	case event.Uint, event.Bit:
		return strconv.FormatUint(v.U, 10)
	case event.Float:
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	case event.Bytes, event.JSON:
		return string(v.B)
	case event.Set:
		s := ""
		for i, m := range v.Set {
			if i > 0 {
				s += ","
			}
			s += m
		}
		return s
	}
	return v.S
}
