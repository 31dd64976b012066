package verify

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Key is a row's primary key as one side read it.
type Key struct {
	// Bind are the key values in the form the reading side binds them back
	// into its own queries (MySQL's text or bytes, PostgreSQL's ::text).
	Bind []any
	// Canon is the canonical text of each key column (see canonical): the
	// same key reads the same on both sides.
	Canon []string
	// Display is the key for people: name=value pairs, bytes in hex.
	Display string
	// from is the side that read the key; another side converts Bind.
	from Side
}

func (k *Key) id() string { return strings.Join(k.Canon, "\x00") }

// Row is one row (or document) reduced to its key and digests; the values
// themselves are not kept, so verify never holds or prints row data.
type Row struct {
	Key Key
	// Cols are the digests of the compared columns, in the pairing's
	// order; nil for documents, which are compared whole.
	Cols []uint64
	// Sum is the digest of the whole row, key included.
	Sum uint64
}

// Bounds select a key range: Lo < key <= Hi and After < key, each bound
// open when nil. Lo and Hi may come from the other side (a chunk's range
// is the source's); After is the reading side's own paging position.
type Bounds struct{ Lo, Hi, After *Key }

// Side is one table (or collection) to compare.
type Side interface {
	// Scan calls fn with the rows within b in key order, at most limit
	// of them (limit > 0). fn must not keep the *Row past its return.
	Scan(ctx context.Context, b Bounds, limit int, fn func(*Row) error) error
	// Columns names the compared columns (Row.Cols), for reports.
	Columns() []string
	// Name is the table for messages, never a DSN.
	Name() string
	Close() error
}

// Options tune a run.
type Options struct {
	// Chunk is the number of source rows per checksummed range (default
	// 1000).
	Chunk int
	// Rate caps the rows read per second, both sides together (0: no
	// limit), so a verify can run against production.
	Rate int
	// MaxDiffs caps the keys listed per kind of difference (default 100);
	// the counts are always exact.
	MaxDiffs int
	// Progress receives a line every ProgressEvery (default 5s) and at the
	// end; nil: none.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Diff is one differing key.
type Diff struct {
	Key string `json:"key"`
	// Columns are the differing columns of a changed row (SQL tables).
	Columns []string `json:"columns,omitempty"`
}

// Range is a checksummed key range whose count or checksum differs.
type Range struct {
	// From and To are the source keys bounding the range (From exclusive,
	// To inclusive); empty is open.
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
	SourceRows int64  `json:"source_rows"`
	TargetRows int64  `json:"target_rows"`
	SourceSum  string `json:"source_checksum"`
	TargetSum  string `json:"target_checksum"`
}

// Result is what a run found.
type Result struct {
	Source       string  `json:"source"`
	Target       string  `json:"target"`
	SourceRows   int64   `json:"source_rows"`
	TargetRows   int64   `json:"target_rows"`
	Chunks       int     `json:"chunks"`
	Ranges       []Range `json:"differing_ranges,omitempty"`
	MissingCount int64   `json:"missing_count"`
	ExtraCount   int64   `json:"extra_count"`
	ChangedCount int64   `json:"changed_count"`
	Missing      []Diff  `json:"missing,omitempty"`
	Extra        []Diff  `json:"extra,omitempty"`
	Changed      []Diff  `json:"changed,omitempty"`
	// Truncated is set when more differing keys were found than listed.
	Truncated bool `json:"truncated,omitempty"`
}

// Equal reports whether no difference was found.
func (r *Result) Equal() bool {
	return r.MissingCount == 0 && r.ExtraCount == 0 && r.ChangedCount == 0 && len(r.Ranges) == 0
}

// keepLimit bounds the missing and extra rows kept for the final
// reconciliation (a row the two engines order differently is "missing"
// in one chunk and "extra" in another; the pair cancels at the end).
const keepLimit = 100_000

type pending struct {
	display string
	sum     uint64
	order   int
}

// Run compares src with dst chunk by chunk: it reads Chunk source rows in
// key order (keyset pagination), then the target rows in the same key
// range, and compares count and checksum of the range; rows of a range
// that differs are narrowed to missing, extra and changed keys from the
// per-row digests already read. Run ends with ctx, returning its error.
func Run(ctx context.Context, src, dst Side, o Options) (*Result, error) {
	if o.Chunk <= 0 {
		o.Chunk = 1000
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 100
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	res := &Result{Source: src.Name(), Target: dst.Name()}
	p := newPacer(o.Rate)
	missing, extra := map[string]pending{}, map[string]pending{}
	var changed []Diff
	seq := 0
	start, lastReport := time.Now(), time.Now()
	cols := dst.Columns()

	var lo *Key
	for {
		var srows []Row
		err := src.Scan(ctx, Bounds{After: lo}, o.Chunk, func(r *Row) error {
			srows = append(srows, *r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading source %s: %w", src.Name(), err)
		}
		if err := p.wait(ctx, len(srows)); err != nil {
			return nil, err
		}
		final := len(srows) < o.Chunk
		var hi *Key
		if !final {
			hi = &srows[len(srows)-1].Key
		}
		byID := make(map[string]int, len(srows))
		var sSum, tSum uint64
		for i := range srows {
			byID[srows[i].Key.id()] = i
			sSum += srows[i].Sum
		}
		matched := make([]bool, len(srows))
		var tRows int64
		var after *Key
		for {
			n := 0
			var lastKey Key
			err := dst.Scan(ctx, Bounds{Lo: lo, Hi: hi, After: after}, o.Chunk, func(r *Row) error {
				n++
				tRows++
				tSum += r.Sum
				lastKey = r.Key
				id := r.Key.id()
				i, ok := byID[id]
				if !ok {
					if len(extra) < keepLimit {
						extra[id] = pending{r.Key.Display, r.Sum, seq}
						seq++
					} else {
						res.ExtraCount++
						res.Truncated = true
					}
					return nil
				}
				matched[i] = true
				if s := &srows[i]; s.Sum != r.Sum {
					d := Diff{Key: s.Key.Display}
					for c := range min(len(s.Cols), len(r.Cols), len(cols)) {
						if s.Cols[c] != r.Cols[c] {
							d.Columns = append(d.Columns, cols[c])
						}
					}
					res.ChangedCount++
					if len(changed) < o.MaxDiffs {
						changed = append(changed, d)
					}
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("reading target %s: %w", dst.Name(), err)
			}
			if err := p.wait(ctx, n); err != nil {
				return nil, err
			}
			if n < o.Chunk {
				break
			}
			k := lastKey
			after = &k
		}
		for i := range srows {
			if !matched[i] {
				id := srows[i].Key.id()
				if len(missing) < keepLimit {
					missing[id] = pending{srows[i].Key.Display, srows[i].Sum, seq}
					seq++
				} else {
					res.MissingCount++
					res.Truncated = true
				}
			}
		}
		res.Chunks++
		res.SourceRows += int64(len(srows))
		res.TargetRows += tRows
		if int64(len(srows)) != tRows || sSum != tSum {
			r := Range{SourceRows: int64(len(srows)), TargetRows: tRows,
				SourceSum: fmt.Sprintf("%016x", sSum), TargetSum: fmt.Sprintf("%016x", tSum)}
			if lo != nil {
				r.From = lo.Display
			}
			if hi != nil {
				r.To = hi.Display
			}
			res.Ranges = append(res.Ranges, r)
		}
		if o.Progress != nil && time.Since(lastReport) >= o.ProgressEvery {
			lastReport = time.Now()
			progress(o.Progress, res, start, hi)
		}
		if final {
			break
		}
		lo = hi
	}
	// A key missing from one range and extra in another is the same row
	// ordered differently by the two engines: equal, or changed.
	for id, m := range missing {
		e, ok := extra[id]
		if !ok {
			continue
		}
		delete(missing, id)
		delete(extra, id)
		if m.sum != e.sum {
			res.ChangedCount++
			if len(changed) < o.MaxDiffs {
				changed = append(changed, Diff{Key: m.display})
			}
		}
	}
	res.Changed = changed
	res.MissingCount += int64(len(missing))
	res.ExtraCount += int64(len(extra))
	res.Missing = firstDiffs(missing, o.MaxDiffs)
	res.Extra = firstDiffs(extra, o.MaxDiffs)
	if res.MissingCount > int64(len(res.Missing)) || res.ExtraCount > int64(len(res.Extra)) || res.ChangedCount > int64(len(res.Changed)) {
		res.Truncated = true
	}
	if len(res.Ranges) > o.MaxDiffs {
		res.Ranges = res.Ranges[:o.MaxDiffs]
		res.Truncated = true
	}
	if o.Progress != nil {
		progress(o.Progress, res, start, nil)
	}
	return res, nil
}

// firstDiffs lists up to n keys of m in the order they were found.
func firstDiffs(m map[string]pending, n int) []Diff {
	list := make([]pending, 0, len(m))
	for _, p := range m {
		list = append(list, p)
	}
	slicesSortByOrder(list)
	var out []Diff
	for _, p := range list[:min(n, len(list))] {
		out = append(out, Diff{Key: p.display})
	}
	return out
}

func progress(w io.Writer, r *Result, start time.Time, at *Key) {
	el := time.Since(start)
	rate := float64(r.SourceRows+r.TargetRows) / max(el.Seconds(), 0.001)
	pos := "done"
	if at != nil {
		pos = "at " + at.Display
	}
	fmt.Fprintf(w, "verify %s: %d source rows, %d target rows, %d chunks (%d differ), %.0f rows/s, %s, %s\n",
		r.Source, r.SourceRows, r.TargetRows, r.Chunks, len(r.Ranges), rate, el.Round(time.Millisecond), pos)
}

// digest is FNV-1a 64 over canonical texts, written out so hashing
// does not allocate; NULL differs from every text.
type digest struct{ h uint64 }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func newDigest() digest { return digest{fnvOffset} }

func (d *digest) add(s string, null bool) {
	if null {
		d.byte(0xff)
		return
	}
	d.byte(0x01)
	for i := 0; i < len(s); i++ {
		d.byte(s[i])
	}
	d.byte(0x00)
}

func (d *digest) byte(b byte) { d.h = (d.h ^ uint64(b)) * fnvPrime }

func (d *digest) u64(v uint64) {
	for i := range 8 {
		d.byte(byte(v >> (8 * i)))
	}
}

// hashText is the digest of one canonical value.
func hashText(s string, null bool) uint64 {
	d := newDigest()
	d.add(s, null)
	return d.h
}
