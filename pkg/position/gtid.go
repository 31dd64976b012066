package position

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Flavors of MySQL-protocol servers; they write GTIDs differently.
const (
	FlavorMySQL   = "mysql"
	FlavorMariaDB = "mariadb"
)

// GTIDFlavor tells which flavor a GTID set is written in, from its first
// element: MySQL elements are "uuid:interval" (a colon, or at least a
// UUID); anything else is taken for MariaDB's "domain-server-sequence".
func GTIDFlavor(set string) string {
	first, _, _ := strings.Cut(set, ",")
	if first = strings.TrimSpace(first); strings.Contains(first, ":") || isUUID(first) {
		return FlavorMySQL
	}
	return FlavorMariaDB
}

// ValidateGTIDSet checks a GTID set strictly, naming the element and the
// part that is wrong. flavor is FlavorMySQL, FlavorMariaDB, or "" to take
// it from the set (GTIDFlavor); a set must not mix flavors.
//
//	MySQL:   3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,<uuid>:tag:1-3
//	         intervals n or n-m with 1 <= n <= m < 2^63; MySQL 8.4 tags
//	MariaDB: 0-1-100,1-2-5  (domain-server_id-sequence, one per domain)
//
// Whitespace around elements is allowed: MySQL prints @@gtid_executed
// with a line break after each comma.
func ValidateGTIDSet(flavor, set string) error {
	_, err := cleanGTIDSet(flavor, set)
	return err
}

// cleanGTIDSet validates set and returns it without the whitespace
// around its elements.
func cleanGTIDSet(flavor, set string) (string, error) {
	if strings.TrimSpace(set) == "" {
		return "", fmt.Errorf("GTID set is empty")
	}
	if flavor == "" {
		flavor = GTIDFlavor(strings.TrimSpace(set))
	}
	var check func(string) string
	switch flavor {
	case FlavorMySQL:
		check = checkMySQLGTID
	case FlavorMariaDB:
		domains := map[uint64]bool{}
		check = func(el string) string { return checkMariaDBGTID(el, domains) }
	default:
		return "", fmt.Errorf("GTID set %q: flavor %q is not %s or %s", set, flavor, FlavorMySQL, FlavorMariaDB)
	}
	els := strings.Split(set, ",")
	for i, el := range els {
		el = strings.TrimSpace(el)
		els[i] = el
		if el == "" {
			return "", fmt.Errorf("GTID set %q: element %d is empty", set, i+1)
		}
		if msg := check(el); msg != "" {
			return "", fmt.Errorf("%s GTID set %q: element %q: %s", flavor, set, el, msg)
		}
	}
	return strings.Join(els, ","), nil
}

// checkMySQLGTID checks "uuid[:tag]:interval[:interval|:tag:interval...]"
// and returns what is wrong, or "".
func checkMySQLGTID(el string) string {
	parts := strings.Split(el, ":")
	if len(parts) < 2 {
		return "want <server uuid>:<interval>[:<interval>...]"
	}
	if !isUUID(parts[0]) {
		return fmt.Sprintf("%q is not a server UUID", parts[0])
	}
	tag := "" // the tag waiting for its first interval
	for _, part := range parts[1:] {
		if part != "" && (part[0] == '_' || isLetter(part[0])) {
			if tag != "" {
				return fmt.Sprintf("tag %q has no interval", tag)
			}
			if msg := checkTag(part); msg != "" {
				return msg
			}
			tag = part
			continue
		}
		if msg := checkInterval(part); msg != "" {
			return msg
		}
		tag = ""
	}
	if tag != "" {
		return fmt.Sprintf("tag %q has no interval", tag)
	}
	return ""
}

func checkInterval(s string) string {
	lo, hi, isRange := strings.Cut(s, "-")
	a, okA := parseGNO(lo)
	b, okB := a, true
	if isRange {
		b, okB = parseGNO(hi)
	}
	switch {
	case !okA || !okB:
		return fmt.Sprintf("interval %q: want n or n-m, transaction numbers from 1 to %d", s, int64(math.MaxInt64))
	case b < a:
		return fmt.Sprintf("interval %q ends before it starts", s)
	}
	return ""
}

func parseGNO(s string) (uint64, bool) {
	if !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 63)
	return n, err == nil && n >= 1
}

// checkTag follows MySQL 8.4: up to 32 letters, digits and underscores,
// not starting with a digit.
func checkTag(s string) string {
	if len(s) > 32 {
		return fmt.Sprintf("tag %q is longer than 32 characters", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || isLetter(c) || c >= '0' && c <= '9') {
			return fmt.Sprintf("tag %q: only letters, digits and _ are allowed", s)
		}
	}
	return ""
}

// checkMariaDBGTID checks "domain-server-sequence"; domains collects the
// domains seen, since a position holds one GTID per domain.
func checkMariaDBGTID(el string, domains map[uint64]bool) string {
	parts := strings.Split(el, "-")
	if len(parts) != 3 {
		return "want <domain>-<server id>-<sequence>"
	}
	names := [3]string{"domain", "server id", "sequence"}
	bits := [3]int{32, 32, 64}
	var vals [3]uint64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, bits[i])
		if !allDigits(p) || err != nil {
			return fmt.Sprintf("%s %q is not a %d-bit unsigned number", names[i], p, bits[i])
		}
		vals[i] = v
	}
	if domains[vals[0]] {
		return fmt.Sprintf("domain %d appears twice; a position has one GTID per domain (use @@gtid_binlog_pos, not @@gtid_binlog_state)", vals[0])
	}
	domains[vals[0]] = true
	return ""
}

// isUUID accepts the 36-character form servers print and the bare
// 32-hex-digit form.
func isUUID(s string) bool {
	switch len(s) {
	case 32:
		return allHex(s)
	case 36:
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return false
				}
			} else if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return s != ""
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
