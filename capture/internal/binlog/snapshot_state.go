package binlog

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"github.com/sluice-cdc/sluice/pkg/event"
)

// SnapshotState is the snapshot progress stored in the position record's
// "snapshot" member (schemas/position.schema.json): the tables still to
// copy, the first being copied now, and how far. Its JSON is what a
// restarted capture resumes from.
type SnapshotState struct {
	// Tables is the queue; Tables[0] is the table being copied.
	Tables []SnapshotTable `json:"tables,omitzero"`
	// Done lists the tables finished since the queue was last empty.
	Done []string `json:"done,omitzero"`
	// SignalsOffset is the next offset of the signals topic to read
	// (on-demand requests before it are in Tables or done).
	SignalsOffset int64 `json:"signals_offset,omitzero"`
}

// SnapshotTable is one table's progress.
type SnapshotTable struct {
	DB    string `json:"db"`
	Table string `json:"table"`
	// After is the key of the last row emitted, in key order, each value
	// as text (After64: base64 of binary values); empty before the first
	// chunk.
	After   []string `json:"after,omitzero"`
	After64 bool     `json:"after_base64,omitzero"`
	// Rows copied so far and the estimate of the total
	// (information_schema.TABLES.TABLE_ROWS when the table started).
	Rows      int64 `json:"rows"`
	Total     int64 `json:"total_estimate,omitzero"`
	StartedMs int64 `json:"started_ms,omitzero"`
	// Chunks emitted so far.
	Chunks int64 `json:"chunks,omitzero"`
}

// Name is "db.table".
func (t SnapshotTable) Name() string { return t.DB + "." + t.Table }

// ParseSnapshotState reads the stored state; "" is no snapshot.
func ParseSnapshotState(s string) (SnapshotState, error) {
	var st SnapshotState
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("stored snapshot state %s: %w", s, err)
	}
	return st, nil
}

// JSON is the stored form; "" when there is nothing to remember.
func (s SnapshotState) JSON() string {
	if len(s.Tables) == 0 && len(s.Done) == 0 && s.SignalsOffset == 0 {
		return ""
	}
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	return string(b)
}

func (s SnapshotState) clone() SnapshotState {
	c := s
	c.Tables = append([]SnapshotTable(nil), s.Tables...)
	c.Done = append([]string(nil), s.Done...)
	return c
}

// has reports whether db.table is queued.
func (s SnapshotState) has(db, table string) bool {
	for _, t := range s.Tables {
		if t.DB == db && t.Table == table {
			return true
		}
	}
	return false
}

// encodeKey turns the key values of the last row emitted into After.
func encodeKey(vals []event.Value) ([]string, bool) {
	b64 := false
	for _, v := range vals {
		if v.Kind == event.Bytes && !utf8.Valid(v.B) {
			b64 = true
		}
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		var s string
		switch v.Kind {
		case event.Int, event.Year:
			s = strconv.FormatInt(v.I, 10)
		case event.Uint, event.Bit:
			s = strconv.FormatUint(v.U, 10)
		case event.Float:
			s = strconv.FormatFloat(v.F, 'g', -1, 64)
		case event.Bytes, event.JSON:
			s = string(v.B)
		default:
			s = v.S
		}
		if b64 {
			s = base64.StdEncoding.EncodeToString([]byte(s))
		}
		out[i] = s
	}
	return out, b64
}

// decodeKey returns After as query arguments of the key columns' kinds,
// so integers compare as integers (a string argument would compare as a
// double and lose BIGINT precision).
func decodeKey(after []string, b64 bool, kinds []event.Kind) ([]any, error) {
	if len(after) != len(kinds) {
		return nil, fmt.Errorf("stored snapshot key %q has %d values for a key of %d columns (did the key change?)", after, len(after), len(kinds))
	}
	out := make([]any, len(after))
	for i, s := range after {
		if b64 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("stored snapshot key %q: %w", s, err)
			}
			s = string(b)
		}
		var err error
		switch kinds[i] {
		case event.Int, event.Year:
			out[i], err = strconv.ParseInt(s, 10, 64)
		case event.Uint, event.Bit:
			out[i], err = strconv.ParseUint(s, 10, 64)
		case event.Float:
			out[i], err = strconv.ParseFloat(s, 64)
		case event.Bytes:
			out[i] = []byte(s)
		default:
			out[i] = s
		}
		if err != nil {
			return nil, fmt.Errorf("stored snapshot key %q: %w", s, err)
		}
	}
	return out, nil
}
