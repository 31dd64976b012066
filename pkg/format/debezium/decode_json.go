package debezium

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The readers below take values straight from the jsontext decoder and
// return them as substrings of the message copy, so reading a field costs
// no allocation unless its string has escapes. Every reader returns the
// byte offset of what it read, for errors.

// decErr names where a problem is: the field path and the byte offset.
// A negative offset means the problem has no single place (a missing
// field).
func decErr(path string, off int64, err error) error {
	switch {
	case off < 0:
		return fmt.Errorf("debezium: %s: %w", path, err)
	case path == "":
		return fmt.Errorf("debezium: at byte %d: %w", off, err)
	}
	return fmt.Errorf("debezium: %s: at byte %d: %w", path, off, err)
}

// next reads the next whole value and returns its text, a substring of the
// message, and the byte offset where it starts.
func (st *decodeState) next() (string, int64, error) {
	raw, err := st.dec.ReadValue()
	end := st.dec.InputOffset()
	if err != nil {
		return "", end, err
	}
	off := end - int64(len(raw))
	if off < 0 || end > int64(len(st.src)) || len(raw) == 0 {
		return "", end, errors.New("decoder offset outside the message")
	}
	return st.src[off:end], off, nil
}

// unquote returns the text of a JSON string jsontext has validated.
// Strings without escapes, nearly all of them, cost no allocation.
func unquote(raw string) (string, error) {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	b, err := jsontext.AppendUnquote(nil, raw)
	return string(b), err
}

// shape names the JSON kind of raw for error messages.
func shape(raw string) string {
	switch raw[0] {
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "a number"
}

func isNumber(raw string) bool { return raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') }

func (st *decodeState) readString() (string, int64, error) {
	raw, off, err := st.next()
	if err != nil {
		return "", off, err
	}
	if raw[0] != '"' {
		return "", off, fmt.Errorf("want a string, got %s", shape(raw))
	}
	s, err := unquote(raw)
	return s, off, err
}

// readOptString reads a string or null ("").
func (st *decodeState) readOptString() (string, int64, error) {
	if st.dec.PeekKind() == 'n' {
		_, off, err := st.next()
		return "", off, err
	}
	return st.readString()
}

// readOptInt reads an integer or null (0).
func (st *decodeState) readOptInt() (int64, int64, error) {
	raw, off, err := st.next()
	switch {
	case err != nil:
		return 0, off, err
	case raw == "null":
		return 0, off, nil
	case !isNumber(raw):
		return 0, off, fmt.Errorf("want an integer, got %s", shape(raw))
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, off, fmt.Errorf("%s is not a 64-bit integer", raw)
	}
	return v, off, nil
}

// readOptUint reads an unsigned integer up to limit, or null (0).
func (st *decodeState) readOptUint(limit uint64) (uint64, int64, error) {
	raw, off, err := st.next()
	switch {
	case err != nil:
		return 0, off, err
	case raw == "null":
		return 0, off, nil
	case !isNumber(raw):
		return 0, off, fmt.Errorf("want an unsigned integer, got %s", shape(raw))
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || v > limit {
		return 0, off, fmt.Errorf("%s is not an integer in 0..%d", raw, limit)
	}
	return v, off, nil
}

// open reads the opening token of an object or array.
func (st *decodeState) open(kind jsontext.Kind, path string) error {
	off := st.dec.InputOffset()
	tok, err := st.dec.ReadToken()
	if err != nil {
		if err == io.EOF {
			err = errors.New("unexpected end of the message")
		}
		return decErr(path, off, err)
	}
	if tok.Kind() != kind {
		return decErr(path, off, fmt.Errorf("want %s, got %v", kindName(kind), tok.Kind()))
	}
	return nil
}

// close reads the closing token; at the top level it also checks that
// nothing follows the message.
func (st *decodeState) close(path string) error {
	if _, err := st.dec.ReadToken(); err != nil {
		return decErr(path, st.dec.InputOffset(), err)
	}
	if st.dec.StackDepth() > 0 {
		return nil
	}
	end := st.dec.InputOffset()
	if rest := strings.TrimLeft(st.src[min(end, int64(len(st.src))):], " \t\r\n"); rest != "" {
		return decErr("", int64(len(st.src)-len(rest)), errors.New("unexpected data after the message"))
	}
	return nil
}

func kindName(k jsontext.Kind) string {
	if k == '[' {
		return "an array"
	}
	return "an object"
}
