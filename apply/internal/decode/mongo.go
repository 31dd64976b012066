package decode

import (
	"bytes"
	"errors"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sluice-cdc/sluice/apply/internal/docrow"
	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/debezium"
)

// decodeMongoDebezium reads a Debezium-style MongoDB record into e by the
// docrow convention.
func decodeMongoDebezium(key, value []byte, e *event.Event) (string, error) {
	c, err := debezium.DecodeMongo(key, value)
	if err != nil {
		if errors.Is(err, debezium.ErrTombstone) {
			return SkipTombstone, nil
		}
		return "", err
	}
	if err := docrow.FromChange(c, e); err != nil {
		return "", err
	}
	return "", nil
}

// decodeChangeStream reads a changestream record into e. Events that
// change no document (drop, rename, DDL) are skipped as DDL.
func decodeChangeStream(value []byte, e *event.Event) (string, error) {
	c, err := docrow.ParseChangeStream(value)
	if err != nil {
		if errors.Is(err, docrow.ErrNotDocumentChange) {
			return SkipDDL, nil
		}
		return "", err
	}
	if err := docrow.FromChange(c, e); err != nil {
		return "", err
	}
	return "", nil
}

// isMongoDebezium reports whether a Debezium-style value comes from the
// MongoDB connector: source.connector (or payload.source.connector) is
// "mongodb". The byte search first keeps the cost off MySQL records.
func isMongoDebezium(value []byte) bool {
	if !bytes.Contains(value, []byte(`"mongodb"`)) {
		return false
	}
	dec := jsontext.NewDecoder(bytes.NewReader(value))
	return connectorIsMongo(dec, 0)
}

// connectorIsMongo walks one object: into "payload" (the Connect wrapper)
// and "source", skipping everything else.
func connectorIsMongo(dec *jsontext.Decoder, depth int) bool {
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return false
		}
		switch n := name.String(); {
		case depth == 0 && (n == "payload" || n == "source") && dec.PeekKind() == '{':
			next := 1
			if n == "payload" {
				next = 0
			}
			if n == "source" {
				next = 2
			}
			if connectorIsMongo(dec, next) {
				return true
			}
			// connectorIsMongo stopped mid-object: the answer is no.
			return false
		case depth == 2 && n == "connector":
			v, err := dec.ReadToken()
			return err == nil && v.Kind() == '"' && v.String() == "mongodb"
		default:
			if err := dec.SkipValue(); err != nil {
				return false
			}
		}
	}
	return false
}
