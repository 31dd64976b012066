// Package docsql turns MongoDB documents into rows of a SQL target
// (DESIGN §7 cross-engine, issue 5). It wraps a SQL sink: rows of "bson"
// columns (the apply/internal/docrow convention, already mapped: renamed
// collection, renamed or excluded fields, static columns) are converted
// against the target table's columns, which the sink reports through
// sink.Catalog; every other row passes through untouched.
//
// Mapping, by field name (exact, else case-insensitive):
//
//	top-level field      the column of the same name (rename in mapping rules)
//	_id                  the column "_id" unless renamed (rename: {_id: id});
//	                     it is the row's key, so the target's primary key
//	nested document,     a JSON column (or text), as relaxed Extended JSON
//	array                by default (documents.json: canonical keeps types)
//	any value into a     its Extended JSON (a string "a" is the JSON "a")
//	JSON column
//	int32 / int64        integer             double      double (NaN, ±Inf
//	Decimal128           exact decimal text                 as the target allows)
//	string               text                bool        0/1 (boolean in PostgreSQL)
//	date                 "YYYY-MM-DD HH:MM:SS[.fff]" UTC (DATETIME, TIMESTAMP,
//	                     timestamp, timestamptz)
//	ObjectId             24 hex digits       binary      bytes (every subtype)
//	null                 NULL
//	other BSON types     their canonical Extended JSON text (timestamp,
//	                     regex, minKey, javascript, ...)
//
// A field without a column is an error (the partition stops with a
// *sink.RowError naming the field) unless documents.unmapped_fields is
// ignore, which leaves it out and counts it (never silently). A full
// document sets the columns it has no field for to NULL (absent_fields:
// null, the default), so the row mirrors the document; generated columns
// are never written. An update without the full document writes its
// top-level $set fields and NULLs its top-level $unset fields; a change
// below the top level (a.b, arr.0) or a truncated array cannot be applied
// to a JSON column without the document and is a RowError: run capture
// with fullDocument updateLookup (the default). An update that changes
// nothing known (the document was gone at lookup; its delete follows) is
// dropped.
package docsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/apply/internal/mapping"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// reloadEvery bounds how often a table's columns are read again because a
// document has a field the cached copy lacks (a column added since): with
// unmapped_fields: ignore such fields may be in every document.
const reloadEvery = 30 * time.Second

// Config of the conversion.
type Config struct {
	Documents mapping.Documents
	// OnUnmapped is called for each field left out under
	// unmapped_fields: ignore (the metric); may be nil.
	OnUnmapped func(table, field string)
}

// Sink converts document rows and hands the batch to the SQL sink it
// wraps. Apply, Offsets, SetOffsets and Close are the inner sink's; Close
// closes it.
type Sink struct {
	inner sink.Sink
	cat   sink.Catalog
	cfg   Config

	mu       sync.Mutex
	reloaded map[string]time.Time // schema.table -> last forced reload
}

var _ sink.Sink = (*Sink)(nil)

// Wrap returns inner wrapped; inner must implement sink.Catalog.
func Wrap(inner sink.Sink, cfg Config) (*Sink, error) {
	cat, ok := inner.(sink.Catalog)
	if !ok {
		return nil, fmt.Errorf("a %T target cannot take MongoDB documents (it has no catalog)", inner)
	}
	if cfg.Documents.UnmappedFields == "" {
		cfg.Documents.UnmappedFields = mapping.UnmappedError
	}
	if cfg.Documents.AbsentFields == "" {
		cfg.Documents.AbsentFields = mapping.AbsentNull
	}
	if cfg.Documents.JSON == "" {
		cfg.Documents.JSON = mapping.JSONRelaxed
	}
	return &Sink{inner: inner, cat: cat, cfg: cfg, reloaded: map[string]time.Time{}}, nil
}

// Apply implements sink.Sink.
func (s *Sink) Apply(ctx context.Context, rows []sink.Row, off sink.Offset) error {
	docs := false
	for i := range rows {
		if docrow.IsDoc(rows[i].Columns) {
			docs = true
			break
		}
	}
	if !docs {
		return s.inner.Apply(ctx, rows, off)
	}
	out := make([]sink.Row, 0, len(rows))
	tables := map[string]*target{}
	for i := range rows {
		r := &rows[i]
		if !docrow.IsDoc(r.Columns) {
			out = append(out, *r)
			continue
		}
		k := r.Schema + "." + r.Table
		t := tables[k]
		if t == nil {
			var err error
			if t, err = s.target(ctx, r, false); err != nil {
				return err
			}
			tables[k] = t
		}
		row, keep, err := s.convert(ctx, t, r)
		if err != nil {
			return err
		}
		if keep {
			out = append(out, row)
		}
	}
	return s.inner.Apply(ctx, out, off)
}

// Offsets implements sink.Sink.
func (s *Sink) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	return s.inner.Offsets(ctx, group, topic)
}

// SetOffsets implements sink.Sink.
func (s *Sink) SetOffsets(ctx context.Context, group, topic string, next map[int32]int64) error {
	return s.inner.SetOffsets(ctx, group, topic, next)
}

// Close implements sink.Sink.
func (s *Sink) Close() error { return s.inner.Close() }

// target is a table's columns, indexed for lookups by field name.
type target struct {
	schema, table string
	cols          []sink.TargetColumn
	exact, lower  map[string]int
	// all is the column list of a full document's row (every writable
	// column, in table order); static columns are appended per row.
	all []event.Column
}

var errNoTable = errors.New("the target has no such table")

func (s *Sink) target(ctx context.Context, r *sink.Row, reload bool) (*target, error) {
	cols, err := s.cat.TargetColumns(ctx, r.Schema, r.Table, reload)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, &sink.RowError{Row: r, Err: errNoTable}
	}
	t := &target{schema: r.Schema, table: r.Table, cols: cols, exact: map[string]int{}, lower: map[string]int{}}
	for i, c := range cols {
		t.exact[c.Name] = i
		l := strings.ToLower(c.Name)
		if _, dup := t.lower[l]; dup {
			t.lower[l] = -1 // ambiguous: only the exact spelling maps
		} else {
			t.lower[l] = i
		}
		if !c.Generated {
			t.all = append(t.all, event.Column{Name: c.Name, Type: docrow.Type, Kind: event.JSON})
		}
	}
	return t, nil
}

// column is the index of the column field maps to, -1 for none.
func (t *target) column(field string) int {
	if i, ok := t.exact[field]; ok {
		return i
	}
	if i, ok := t.lower[strings.ToLower(field)]; ok {
		return i
	}
	return -1
}

// reload reads the table again when a field has no column, at most once
// per reloadEvery for the table (always when the answer is an error,
// since the partition stops on it anyway).
func (s *Sink) reload(ctx context.Context, t *target, r *sink.Row, always bool) (*target, error) {
	k := t.schema + "." + t.table
	s.mu.Lock()
	last := s.reloaded[k]
	due := always || time.Since(last) >= reloadEvery
	if due {
		s.reloaded[k] = time.Now()
	}
	s.mu.Unlock()
	if !due {
		return t, nil
	}
	return s.target(ctx, r, true)
}
