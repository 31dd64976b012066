package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/sluice-cdc/sluice/pkg/position"
)

// recovery is the way out of a purged position (G6).
const recovery = "the changes in between are lost to capture; recover by re-snapshotting: capture run --from latest, then capture snapshot --table <db.table> for each captured table (see README, \"Purged binlog\")"

// CheckPositionAvailable reports whether the binlog the server would need to
// stream from p is still there (DESIGN §5). Without a GTID set the binlog
// file must be among SHOW BINARY LOGS. With one:
//
//   - MySQL: every purged transaction (gtid_purged) must be in p's set,
//     otherwise the server would have to send transactions it no longer has.
//   - MariaDB: the GTID state at the start of the oldest binlog,
//     BINLOG_GTID_POS(oldest, 4) (the file's Gtid_list: the last GTID of
//     each domain written before that file), must be covered by p domain by
//     domain. A domain behind it, or missing from p, needs transactions from
//     a purged file. This asks the server for exactly what it has, rather
//     than trying a dump and interpreting the failure.
//
// The error wraps ErrPositionPurged and names the gap and the recovery.
func CheckPositionAvailable(ctx context.Context, db *sql.DB, p position.MySQL) error {
	flavor := p.Flavor
	if flavor == "" {
		var version string
		if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
			return fmt.Errorf("reading the server version: %w", err)
		}
		flavor = flavorMySQL
		if strings.Contains(strings.ToLower(version), "mariadb") {
			flavor = flavorMariaDB
		}
	}
	files, err := binaryLogs(ctx, db)
	if err != nil {
		return err
	}
	switch {
	case p.GTIDSet == "" && p.File == "":
		return nil
	case p.GTIDSet == "":
		if !slices.Contains(files, p.File) {
			return fatalf("%w: binlog file %s (position %s) was purged; the server's binlogs now start at %s; %s",
				ErrPositionPurged, p.File, p, files[0], recovery)
		}
		return nil
	case flavor == flavorMySQL:
		var purged string
		if err := db.QueryRowContext(ctx, "SELECT @@gtid_purged").Scan(&purged); err != nil {
			return fmt.Errorf("reading gtid_purged: %w", err)
		}
		purged = cleanSet(purged)
		if purged == "" {
			return nil
		}
		ours, err := gomysql.ParseMysqlGTIDSet(p.GTIDSet)
		if err != nil {
			return fatalf("position %s: %w", p, err)
		}
		gone, err := gomysql.ParseMysqlGTIDSet(purged)
		if err != nil {
			return fmt.Errorf("parsing gtid_purged %q: %w", purged, err)
		}
		if !ours.Contain(gone) {
			return fatalf("%w: resuming from GTID set %s needs transactions the server purged (gtid_purged %s); %s",
				ErrPositionPurged, p.GTIDSet, purged, recovery)
		}
		return nil
	}
	oldest, err := gtidStateAt(ctx, db, files[0])
	if err != nil {
		return err
	}
	ours, err := mariaSeqs(p.GTIDSet)
	if err != nil {
		return fatalf("position %s: %w", p, err)
	}
	for domain, need := range oldest {
		have, ok := ours[domain]
		if !ok || have < need {
			from := "its first transaction"
			if ok {
				from = "sequence " + strconv.FormatUint(have+1, 10)
			}
			return fatalf("%w: resuming from GTID %s needs domain %d from %s on, but the binlogs before %s (domain %d up to sequence %d) were purged; %s",
				ErrPositionPurged, p.GTIDSet, domain, from, files[0], domain, need, recovery)
		}
	}
	return nil
}

// gtidStateAt returns the MariaDB GTID state at the start of a binlog file
// as domain -> last sequence number.
func gtidStateAt(ctx context.Context, db *sql.DB, file string) (map[uint32]uint64, error) {
	var state sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, 4)", file).Scan(&state); err != nil {
		return nil, fmt.Errorf("reading the GTID state at the start of %s: %w", file, err)
	}
	if !state.Valid {
		return nil, fmt.Errorf("reading the GTID state at the start of %s: BINLOG_GTID_POS is NULL", file)
	}
	return mariaSeqs(state.String)
}

// mariaSeqs reads a MariaDB GTID position into domain -> sequence number,
// keeping the highest sequence when a domain appears more than once.
func mariaSeqs(set string) (map[uint32]uint64, error) {
	out := map[uint32]uint64{}
	for _, el := range strings.Split(cleanSet(set), ",") {
		if el == "" {
			continue
		}
		g, err := gomysql.ParseMariadbGTID(el)
		if err != nil {
			return nil, err
		}
		if cur, ok := out[g.DomainID]; !ok || g.SequenceNumber > cur {
			out[g.DomainID] = g.SequenceNumber
		}
	}
	return out, nil
}
