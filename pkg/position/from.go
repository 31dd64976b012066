package position

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FromKind says where a --from start spec points.
type FromKind uint8

// The kinds of start spec. The zero value is no spec.
const (
	FromEarliest FromKind = iota + 1 // the oldest event the source still has
	FromLatest                       // the source's current end: new changes only
	FromGTID                         // after a GTID set (MySQL/MariaDB)
	FromFile                         // a binlog file and offset (MySQL/MariaDB)
	FromTime                         // the first event at or after a time
	FromPosition                     // a stored MySQL position, as JSON
	FromToken                        // after a change-stream resume token (MongoDB)
)

var kindNames = [...]string{"", "earliest", "latest", "gtid", "file", "time", "position", "token"}

func (k FromKind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "FromKind(" + strconv.Itoa(int(k)) + ")"
}

// From is a parsed --from start spec. Only the fields of its Kind are set.
type From struct {
	Kind FromKind
	// GTID is the set for FromGTID, without whitespace around elements,
	// and Flavor the flavor its syntax is in.
	GTID   string
	Flavor string
	// File and Pos are set for FromFile.
	File string
	Pos  uint64
	// Time is set for FromTime.
	Time time.Time
	// Position is set for FromPosition.
	Position MySQL
	// Token is the resume token's _data (or Extended JSON) for FromToken.
	Token string
}

const fromForms = "earliest, latest, gtid:<set>, file:<binlog>:<pos>, time:<RFC3339>, token:<resume token> or a JSON position"

// ParseFrom parses a start spec:
//
//	earliest | latest
//	gtid:<set>                    gtid:0-1-100  gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5
//	file:<binlog>:<pos>           file:mysql-bin.000003:4
//	time:<RFC3339>                time:2026-01-02T15:04:05Z
//	token:<resume token _data>    token:8263A1...
//	{"gtid":...}                  a stored MySQL position (as in the sluice.position header)
//
// Errors quote the spec and name the part that is wrong.
func ParseFrom(s string) (From, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch {
	case s == "earliest":
		return From{Kind: FromEarliest}, nil
	case s == "latest":
		return From{Kind: FromLatest}, nil
	case strings.HasPrefix(s, "{"):
		p, err := ParseMySQL(s)
		if err != nil {
			return From{}, fmt.Errorf("--from: %w", err)
		}
		return From{Kind: FromPosition, Position: p}, nil
	case kind == "gtid":
		set, err := cleanGTIDSet("", rest)
		if err != nil {
			return From{}, fmt.Errorf("--from %q: %w", s, err)
		}
		return From{Kind: FromGTID, GTID: set, Flavor: GTIDFlavor(set)}, nil
	case kind == "file":
		// Split at the last colon: the offset never has one.
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return From{}, fmt.Errorf("--from %q: want file:<binlog>:<pos>, e.g. file:mysql-bin.000003:4", s)
		}
		file, posText := rest[:i], rest[i+1:]
		pos, err := strconv.ParseUint(posText, 10, 64)
		if err != nil || !allDigits(posText) {
			return From{}, fmt.Errorf("--from %q: pos %q is not a number", s, posText)
		}
		if err := checkFilePos(file, pos); err != nil {
			return From{}, fmt.Errorf("--from %q: %w", s, err)
		}
		return From{Kind: FromFile, File: file, Pos: pos}, nil
	case kind == "time":
		t, err := time.Parse(time.RFC3339Nano, rest)
		if err != nil {
			return From{}, fmt.Errorf("--from %q: %q is not an RFC3339 time with a zone, e.g. time:2026-01-02T15:04:05Z", s, rest)
		}
		return From{Kind: FromTime, Time: t}, nil
	case kind == "token":
		if rest == "" {
			return From{}, fmt.Errorf("--from %q: the resume token is empty", s)
		}
		if err := checkResumeToken(rest); err != nil {
			return From{}, fmt.Errorf("--from %q: %w", s, err)
		}
		return From{Kind: FromToken, Token: rest}, nil
	}
	return From{}, fmt.Errorf("--from %q: want %s", s, fromForms)
}

// String is the spec ParseFrom reads back into the same From.
func (f From) String() string {
	switch f.Kind {
	case FromEarliest, FromLatest:
		return f.Kind.String()
	case FromGTID:
		return "gtid:" + f.GTID
	case FromFile:
		return "file:" + f.File + ":" + strconv.FormatUint(f.Pos, 10)
	case FromTime:
		return "time:" + f.Time.Format(time.RFC3339Nano)
	case FromPosition:
		return f.Position.JSON()
	case FromToken:
		return "token:" + f.Token
	}
	return ""
}
