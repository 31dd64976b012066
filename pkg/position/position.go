// Package position holds source positions: where a capture has read up to
// and where it resumes (DESIGN §5).
//
// A MySQL position is the GTID set executed so far plus the binlog file and
// offset and the identity of the server they belong to. Positions are
// compared and stored only at transaction boundaries. The JSON form is the
// contract of the sluice.position header and of the position record
// (schemas/position.schema.json).
package position

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MySQL is a binlog position.
type MySQL struct {
	// GTIDSet is the executed set: MySQL "uuid:1-5,uuid2:1-3" or MariaDB
	// "0-1-100,1-2-5" (domain-server-seq per domain). Empty in file:pos mode.
	GTIDSet string `json:"gtid,omitempty"`
	// File and Pos point just after the last transaction read.
	File string `json:"file,omitempty"`
	Pos  uint64 `json:"pos,omitempty"`
	// ServerID and ServerUUID identify the server File and Pos belong to:
	// file:pos means nothing on another server.
	ServerID   uint32 `json:"server_id,omitempty"`
	ServerUUID string `json:"server_uuid,omitempty"`
	// Flavor is "mysql" or "mariadb".
	Flavor string `json:"flavor,omitempty"`
}

// IsZero reports whether p holds no position at all.
func (p MySQL) IsZero() bool { return p.GTIDSet == "" && p.File == "" }

// String is the human form used in logs: "gtid 0-1-10 (mariadb-bin.000001:1234)".
func (p MySQL) String() string {
	fp := ""
	if p.File != "" {
		fp = p.File + ":" + strconv.FormatUint(p.Pos, 10)
	}
	switch {
	case p.GTIDSet != "" && fp != "":
		return "gtid " + p.GTIDSet + " (" + fp + ")"
	case p.GTIDSet != "":
		return "gtid " + p.GTIDSet
	default:
		return fp
	}
}

// JSON returns the JSON text form.
func (p MySQL) JSON() string {
	b, _ := json.Marshal(p) // a struct of strings and ints cannot fail
	return string(b)
}

// Validate checks the fields are well-formed.
func (p MySQL) Validate() error {
	if p.IsZero() {
		return fmt.Errorf("position has neither a GTID set nor a binlog file")
	}
	if p.GTIDSet != "" {
		if err := ValidateGTIDSet(p.GTIDSet); err != nil {
			return err
		}
	}
	if (p.File == "") != (p.Pos == 0) {
		return fmt.Errorf("position: file %q and pos %d must be set together", p.File, p.Pos)
	}
	if p.Flavor != "" && p.Flavor != "mysql" && p.Flavor != "mariadb" {
		return fmt.Errorf("position: flavor %q is not mysql or mariadb", p.Flavor)
	}
	return nil
}

// ParseMySQL reads the JSON form strictly (unknown fields are an error:
// a position that is not fully understood must not be resumed from).
func ParseMySQL(s string) (MySQL, error) {
	var p MySQL
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return MySQL{}, fmt.Errorf("parsing position %q: %w", s, err)
	}
	if dec.More() {
		return MySQL{}, fmt.Errorf("parsing position %q: trailing data", s)
	}
	if err := p.Validate(); err != nil {
		return MySQL{}, err
	}
	return p, nil
}

var (
	mariaGTID = regexp.MustCompile(`^\d+-\d+-\d+$`)
	mysqlUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
	interval  = regexp.MustCompile(`^\d+(-\d+)?$`)
)

// ValidateGTIDSet checks a MySQL or MariaDB GTID set's syntax, naming the
// bad element.
func ValidateGTIDSet(set string) error {
	for _, el := range strings.Split(set, ",") {
		el = strings.TrimSpace(el)
		if el == "" {
			return fmt.Errorf("GTID set %q: empty element", set)
		}
		if mariaGTID.MatchString(el) {
			continue
		}
		parts := strings.Split(el, ":")
		if len(parts) < 2 || !mysqlUUID.MatchString(parts[0]) {
			return fmt.Errorf("GTID set %q: %q is neither MariaDB domain-server-seq nor MySQL uuid:interval", set, el)
		}
		for _, iv := range parts[1:] {
			if !interval.MatchString(iv) {
				return fmt.Errorf("GTID set %q: bad interval %q in %q", set, iv, el)
			}
		}
	}
	return nil
}

// FromKind says where a --from start spec points.
type FromKind uint8

const (
	FromEarliest FromKind = iota + 1
	FromLatest
	FromGTID
	FromFile
	FromTime
	FromPosition // a JSON position, as stored
)

// From is a parsed --from start spec.
type From struct {
	Kind FromKind
	GTID string
	File string
	Pos  uint64
	Time time.Time
	// Position is set for FromPosition.
	Position MySQL
}

// ParseFrom parses a start spec: earliest, latest, gtid:<set>,
// file:<name>:<pos>, time:<RFC3339>, or a JSON position.
func ParseFrom(s string) (From, error) {
	switch {
	case s == "earliest":
		return From{Kind: FromEarliest}, nil
	case s == "latest":
		return From{Kind: FromLatest}, nil
	case strings.HasPrefix(s, "gtid:"):
		set := strings.TrimPrefix(s, "gtid:")
		if err := ValidateGTIDSet(set); err != nil {
			return From{}, fmt.Errorf("--from %q: %w", s, err)
		}
		return From{Kind: FromGTID, GTID: set}, nil
	case strings.HasPrefix(s, "file:"):
		rest := strings.TrimPrefix(s, "file:")
		i := strings.LastIndexByte(rest, ':')
		if i <= 0 {
			return From{}, fmt.Errorf("--from %q: want file:<binlog name>:<position>", s)
		}
		pos, err := strconv.ParseUint(rest[i+1:], 10, 64)
		if err != nil || pos == 0 {
			return From{}, fmt.Errorf("--from %q: position %q is not a positive integer", s, rest[i+1:])
		}
		return From{Kind: FromFile, File: rest[:i], Pos: pos}, nil
	case strings.HasPrefix(s, "time:"):
		t, err := time.Parse(time.RFC3339, strings.TrimPrefix(s, "time:"))
		if err != nil {
			return From{}, fmt.Errorf("--from %q: want time:<RFC3339>, e.g. time:2026-01-02T15:04:05Z: %w", s, err)
		}
		return From{Kind: FromTime, Time: t}, nil
	case strings.HasPrefix(s, "{"):
		p, err := ParseMySQL(s)
		if err != nil {
			return From{}, err
		}
		return From{Kind: FromPosition, Position: p}, nil
	}
	return From{}, fmt.Errorf("--from %q: want earliest, latest, gtid:<set>, file:<name>:<pos> or time:<RFC3339>", s)
}
