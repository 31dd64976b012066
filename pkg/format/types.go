package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// AppendTypes appends the HeaderTypes value of cols to dst: a JSON object of
// column name to MySQL column type, in column order,
// e.g. {"id":"int(10) unsigned","c_dec20":"decimal(20,6)"}.
//
// Only names and types travel; the reader derives each Kind from the type
// again (event.KindOf), so the header stays readable by non-Go consumers.
func AppendTypes(dst []byte, cols []event.Column) []byte {
	dst = append(dst, '{')
	for i := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonw.Key(dst, cols[i].Name)
		dst = jsonw.String(dst, cols[i].Type)
	}
	return append(dst, '}')
}

// ParseTypes reads a HeaderTypes value back into columns, in the order the
// object lists them, with Kind set by event.KindOf. The header is part of
// the wire contract, so anything but an object of unique names to string
// types is an error naming the problem and its byte offset.
func ParseTypes(b []byte) ([]event.Column, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, typesErr(0, "reading the header: %w", err)
	}
	if tok.Kind() != '{' {
		return nil, typesErr(0, "want a JSON object, got %s", tok.Kind())
	}
	cols := []event.Column{}
	for dec.PeekKind() != '}' {
		name, noff, err := readString(dec)
		if err != nil {
			return nil, typesErr(noff, "reading a column name: %w", err)
		}
		if name == "" {
			return nil, typesErr(noff, "empty column name")
		}
		t, off, err := readString(dec)
		if err != nil {
			return nil, typesErr(off, "type of column %q: %w", name, err)
		}
		cols = append(cols, event.Column{Name: name, Type: t, Kind: event.KindOf(t)})
	}
	// PeekKind reports 0 on a syntax error; ReadToken then returns it.
	off := dec.InputOffset()
	if _, err := dec.ReadToken(); err != nil {
		return nil, typesErr(off, "reading the end of the object: %w", err)
	}
	off = dec.InputOffset()
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("unexpected data")
		}
		return nil, typesErr(off, "after the object: %w", err)
	}
	return cols, nil
}

func typesErr(off int64, f string, args ...any) error {
	return fmt.Errorf("sluice.types header at byte %d: %w", off, fmt.Errorf(f, args...))
}

// readString reads the next value, which must be a JSON string, and returns
// its text and the offset where it starts.
func readString(dec *jsontext.Decoder) (string, int64, error) {
	raw, err := dec.ReadValue()
	if err != nil {
		return "", dec.InputOffset(), err
	}
	off := dec.InputOffset() - int64(len(raw))
	if raw.Kind() != '"' {
		return "", off, fmt.Errorf("want a JSON string, got %s", raw.Kind())
	}
	b, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return "", off, err
	}
	return string(b), off, nil
}
