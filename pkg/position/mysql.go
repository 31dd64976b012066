// Package position holds source positions: where a capture has read up to
// and where it resumes (DESIGN §5).
//
// A MySQL position is the GTID set executed so far, the binlog file and
// offset, and the identity of the server they belong to (file:pos means
// nothing on another server). A Mongo position is a change-stream resume
// token and the cluster time. Positions are taken only at transaction
// boundaries.
//
// The JSON forms are a contract: they are the sluice.position header and
// the fields of the position record (schemas/position.schema.json). They
// are parsed strictly, unknown or misspelt members included, because a
// position that is not fully understood must not be resumed from.
package position

import (
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json"
)

// MySQL is a MySQL or MariaDB binlog position. Its JSON form is
//
//	{"gtid":"...","file":"...","pos":n,"server_id":n,"server_uuid":"...","flavor":"..."}
//
// with empty fields left out.
type MySQL struct {
	// GTIDSet is the executed set: MySQL "uuid:1-5,uuid2:1-3" or MariaDB
	// "0-1-100,1-2-5". Empty when the server runs without GTIDs.
	GTIDSet string `json:"gtid,omitzero"`
	// File and Pos point just after the last transaction read. Pos is at
	// least 4 (a binlog starts with a 4-byte magic number).
	File string `json:"file,omitzero"`
	Pos  uint64 `json:"pos,omitzero"`
	// ServerID and ServerUUID identify the server File and Pos belong to.
	// MariaDB has no server UUID.
	ServerID   uint32 `json:"server_id,omitzero"`
	ServerUUID string `json:"server_uuid,omitzero"`
	// Flavor is FlavorMySQL or FlavorMariaDB; empty means unknown, and the
	// GTID set's own syntax tells.
	Flavor string `json:"flavor,omitzero"`
}

// mysqlJSON has MySQL's fields without its methods, for the json package.
type mysqlJSON MySQL

// IsZero reports whether p holds no position at all.
func (p MySQL) IsZero() bool { return p.GTIDSet == "" && p.File == "" }

// String is the human form used in logs and errors:
// "gtid 0-1-10 (mariadb-bin.000001:1234)".
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
	case fp != "":
		return fp
	}
	return "(no position)"
}

// JSON returns the JSON text form.
func (p MySQL) JSON() string {
	b, err := p.MarshalJSON()
	if err != nil {
		// Strings and integers always encode; only invalid UTF-8 in a
		// string could fail, and the validator would reject that too.
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(b)
}

// MarshalJSON writes the JSON form. It does not validate: a position is
// validated where it is read.
func (p MySQL) MarshalJSON() ([]byte, error) {
	return json.Marshal(mysqlJSON(p))
}

// UnmarshalJSON reads the JSON form strictly: unknown and duplicate
// members, wrong types and out-of-range numbers are errors, then the
// position is validated. On error p is unchanged.
func (p *MySQL) UnmarshalJSON(b []byte) error {
	var v mysqlJSON
	if err := json.Unmarshal(b, &v, json.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("parsing MySQL position: %w", err)
	}
	if err := MySQL(v).Validate(); err != nil {
		return err
	}
	*p = MySQL(v)
	return nil
}

// ParseMySQL reads the JSON form strictly (see UnmarshalJSON).
func ParseMySQL(s string) (MySQL, error) {
	var p MySQL
	if err := p.UnmarshalJSON([]byte(s)); err != nil {
		return MySQL{}, fmt.Errorf("position %s: %w", s, err)
	}
	return p, nil
}

// Validate checks every field is well-formed and that the position says
// where to start: a GTID set, or a file and pos.
func (p MySQL) Validate() error {
	if p.IsZero() && p.Pos == 0 {
		return fmt.Errorf("MySQL position has neither a GTID set nor a binlog file")
	}
	switch p.Flavor {
	case "", FlavorMySQL, FlavorMariaDB:
	default:
		return fmt.Errorf("MySQL position: flavor %q is not %s or %s", p.Flavor, FlavorMySQL, FlavorMariaDB)
	}
	if p.GTIDSet != "" {
		if err := ValidateGTIDSet(p.Flavor, p.GTIDSet); err != nil {
			return fmt.Errorf("MySQL position: %w", err)
		}
	}
	if p.File != "" || p.Pos != 0 {
		if err := checkFilePos(p.File, p.Pos); err != nil {
			return fmt.Errorf("MySQL position: %w", err)
		}
	}
	if p.ServerUUID != "" && !isUUID(p.ServerUUID) {
		return fmt.Errorf("MySQL position: server_uuid %q is not a UUID", p.ServerUUID)
	}
	return nil
}

// checkFilePos checks a binlog file name and offset.
func checkFilePos(file string, pos uint64) error {
	if file == "" {
		return fmt.Errorf("pos %d without a binlog file", pos)
	}
	if err := checkBinlogName(file); err != nil {
		return err
	}
	if pos < 4 {
		return fmt.Errorf("binlog pos %d is before the first event (events start at 4)", pos)
	}
	return nil
}

// checkBinlogName accepts what servers name binlogs: a base name, a dot
// and a sequence number ("mysql-bin.000003"), without control characters
// or spaces, which would only come from a copy-paste accident.
func checkBinlogName(name string) error {
	dot := -1
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("binlog file %q contains a space or control character", name)
		}
		if c == '.' {
			dot = i
		}
	}
	if dot <= 0 || !allDigits(name[dot+1:]) {
		return fmt.Errorf("binlog file %q: want <base name>.<number>, e.g. mysql-bin.000003", name)
	}
	return nil
}
