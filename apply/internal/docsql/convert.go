package docsql

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/apply/internal/mapping"
	"github.com/sluice-cdc/sluice/apply/internal/sink"
	"github.com/sluice-cdc/sluice/pkg/event"
)

// field is one value a row writes: a document field, a top-level path of
// a partial update, or a static column of the mapping.
type field struct {
	name   string
	raw    bson.RawValue // a document value; unset when static or unset
	unset  bool          // $unset: write NULL
	static *event.Column // a non-document column (mapping static)
	value  event.Value   // the static column's value
	key    bool
}

// convert turns document row r into a row of table t. keep is false for
// a partial update that changes nothing known.
func (s *Sink) convert(ctx context.Context, t *target, r *sink.Row) (out sink.Row, keep bool, err error) {
	fields, partial, err := s.fields(r)
	if err != nil {
		return out, false, err
	}
	for _, f := range fields {
		if t.column(f.name) < 0 {
			if t, err = s.reload(ctx, t, r, s.cfg.Documents.UnmappedFields == mapping.UnmappedError || f.key); err != nil {
				return out, false, err
			}
			break
		}
	}
	out = sink.Row{Op: r.Op, Schema: r.Schema, Table: r.Table, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	full := !partial && r.Op != event.OpDelete
	var vals []event.Value
	var cols []event.Column
	slot := map[int]int{} // target column -> index in cols
	if full {
		cols = t.all
		vals = make([]event.Value, len(cols))
		for i := range vals {
			if s.cfg.Documents.AbsentFields == mapping.AbsentNull {
				vals[i] = event.NullValue()
			}
		}
		j := 0
		for i, c := range t.cols {
			if !c.Generated {
				slot[i] = j
				j++
			}
		}
	}
	extra := false
	for _, f := range fields {
		ci := t.column(f.name)
		if ci < 0 {
			if f.static != nil {
				// Not a document field: the SQL sink names the missing
				// column as for any row.
				if !extra && full {
					cols = append([]event.Column(nil), cols...)
				}
				extra = true
				cols = append(cols, *f.static)
				vals = append(vals, f.value)
				continue
			}
			if f.key || s.cfg.Documents.UnmappedFields == mapping.UnmappedError {
				return out, false, &sink.RowError{Row: r, Column: f.name, Err: fmt.Errorf(
					"document field %q has no column in the target table (mapping.documents.unmapped_fields: error; add the column, rename or exclude the field in a mapping rule, or set unmapped_fields: ignore)", f.name)}
			}
			if s.cfg.OnUnmapped != nil {
				s.cfg.OnUnmapped(qualified(r.Schema, r.Table), f.name)
			}
			continue
		}
		tc := t.cols[ci]
		if tc.Generated {
			return out, false, &sink.RowError{Row: r, Column: tc.Name, Err: errors.New("the field maps to a generated column, which cannot be written")}
		}
		var v event.Value
		switch {
		case f.static != nil:
			v = f.value
		case f.unset:
			v = event.NullValue()
		default:
			if v, err = s.value(f.raw, tc.JSON); err != nil {
				return out, false, &sink.RowError{Row: r, Column: f.name, Value: truncate(f.raw.String()), Err: err}
			}
		}
		j, ok := slot[ci]
		if !ok {
			j = len(cols)
			slot[ci] = j
			cols = append(cols, event.Column{Name: tc.Name, Type: docrow.Type, Kind: event.JSON})
			vals = append(vals, v)
		} else {
			vals[j] = v
		}
		if f.key {
			out.Key = []int{j}
		}
	}
	if out.Key == nil {
		return out, false, &sink.RowError{Row: r, Err: errors.New("document row without its _id")}
	}
	if partial && len(cols) == 1 {
		return out, false, nil // an update that changes nothing known
	}
	out.Columns, out.Values = cols, vals
	if out.Op == event.OpDelete {
		// A delete writes its key only.
		k := out.Key[0]
		out.Columns, out.Values, out.Key = []event.Column{cols[k]}, []event.Value{vals[k]}, []int{0}
	}
	return out, true, nil
}

// fields lists what r writes. partial reports an update without the full
// document.
func (s *Sink) fields(r *sink.Row) (fs []field, partial bool, err error) {
	isKey := func(j int) bool { return len(r.Key) == 1 && r.Key[0] == j }
	for j := range r.Columns {
		if docrow.IsPseudo(r.Columns[j].Name) {
			partial = true
		}
	}
	if len(r.Key) != 1 {
		return nil, false, &sink.RowError{Row: r, Err: errors.New("document row without a single _id key")}
	}
	for j := range r.Columns {
		c := &r.Columns[j]
		if j >= len(r.Values) || r.Values[j].Kind == event.Absent {
			continue
		}
		v := r.Values[j]
		if c.Type != docrow.Type {
			fs = append(fs, field{name: c.Name, static: c, value: v})
			continue
		}
		var rv bson.RawValue
		if v.Kind == event.Null {
			rv = bson.RawValue{Type: bson.TypeNull}
		} else if rv, err = docrow.ParseValue(v.B); err != nil {
			return nil, false, &sink.RowError{Row: r, Column: c.Name, Value: truncate(string(v.B)), Err: fmt.Errorf("not Extended JSON: %w", err)}
		}
		switch c.Name {
		case docrow.SetColumn:
			doc, ok := rv.DocumentOK()
			if !ok {
				return nil, false, &sink.RowError{Row: r, Column: c.Name, Err: errors.New("updatedFields is not a document")}
			}
			elems, _ := doc.Elements()
			for _, e := range elems {
				if err := topLevel(r, e.Key()); err != nil {
					return nil, false, err
				}
				fs = append(fs, field{name: e.Key(), raw: e.Value()})
			}
		case docrow.UnsetColumn:
			arr, ok := rv.ArrayOK()
			if !ok {
				return nil, false, &sink.RowError{Row: r, Column: c.Name, Err: errors.New("removedFields is not an array")}
			}
			vals, _ := arr.Values()
			for _, p := range vals {
				name := p.StringValue()
				if err := topLevel(r, name); err != nil {
					return nil, false, err
				}
				fs = append(fs, field{name: name, unset: true})
			}
		case docrow.TruncateColumn:
			return nil, false, &sink.RowError{Row: r, Column: c.Name, Err: errors.New(
				"an update without the full document truncated an array, which a SQL row cannot follow without the document; run capture with fullDocument: updateLookup")}
		default:
			if !partial || isKey(j) {
				fs = append(fs, field{name: c.Name, raw: rv, key: isKey(j)})
			}
		}
	}
	return fs, partial, nil
}

// topLevel refuses a partial change below the top level.
func topLevel(r *sink.Row, path string) error {
	if strings.Contains(path, ".") {
		return &sink.RowError{Row: r, Column: path, Err: errors.New(
			"an update without the full document changed a nested path, which a JSON column cannot follow without the document; run capture with fullDocument: updateLookup")}
	}
	return nil
}

// value converts one BSON value for a column; jsonCol is a JSON column,
// which takes every value as its Extended JSON.
func (s *Sink) value(rv bson.RawValue, jsonCol bool) (event.Value, error) {
	canonical := s.cfg.Documents.JSON == mapping.JSONCanonical
	if rv.Type == bson.TypeNull || rv.Type == bson.TypeUndefined {
		return event.NullValue(), nil
	}
	if jsonCol {
		return jsonValue(rv, canonical)
	}
	switch rv.Type {
	case bson.TypeInt32:
		return event.IntValue(int64(rv.Int32())), nil
	case bson.TypeInt64:
		return event.IntValue(rv.Int64()), nil
	case bson.TypeDouble:
		return event.FloatValue(rv.Double()), nil
	case bson.TypeDecimal128:
		text, err := decimalText(rv.Decimal128())
		if err != nil {
			return event.Value{}, err
		}
		return event.DecimalValue(text), nil
	case bson.TypeString:
		return event.StringValue(rv.StringValue()), nil
	case bson.TypeBoolean:
		if rv.Boolean() {
			return event.IntValue(1), nil
		}
		return event.IntValue(0), nil
	case bson.TypeDateTime:
		t := time.UnixMilli(rv.DateTime()).UTC()
		if t.Year() < 1 || t.Year() > 9999 {
			return event.Value{}, fmt.Errorf("date %s is outside the years 1-9999 that SQL date types hold", t.Format(time.RFC3339Nano))
		}
		text := t.Format("2006-01-02 15:04:05.000")
		text = strings.TrimSuffix(strings.TrimRight(text, "0"), ".")
		return event.TimestampValue(text), nil
	case bson.TypeObjectID:
		return event.StringValue(rv.ObjectID().Hex()), nil
	case bson.TypeBinary:
		_, data := rv.Binary()
		return event.BytesValue(data), nil
	case bson.TypeEmbeddedDocument, bson.TypeArray:
		return jsonValue(rv, canonical)
	}
	// Timestamp, regex, javascript, symbol, DBPointer, minKey, maxKey:
	// no SQL type fits; their canonical Extended JSON keeps them exactly.
	return jsonValue(rv, true)
}

func jsonValue(rv bson.RawValue, canonical bool) (event.Value, error) {
	b, err := docrow.ValueExtJSON(rv, canonical)
	if err != nil {
		return event.Value{}, err
	}
	return event.JSONValue(b), nil
}

// decimalText is a Decimal128 as plain decimal digits ("-12.50", never
// an exponent), which every SQL decimal type parses exactly.
func decimalText(d bson.Decimal128) (string, error) {
	bi, exp, err := d.BigInt()
	if err != nil {
		return "", fmt.Errorf("Decimal128 %s has no SQL decimal value", d.String())
	}
	neg := bi.Sign() < 0
	digits := new(big.Int).Abs(bi).String()
	switch {
	case exp >= 0:
		digits += strings.Repeat("0", exp)
	default:
		n := -exp
		if len(digits) <= n {
			digits = strings.Repeat("0", n-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-n] + "." + digits[len(digits)-n:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits, nil
}

func qualified(schema, table string) string {
	if schema == "" {
		return table
	}
	return schema + "." + table
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
