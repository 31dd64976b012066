package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/position"
)

// startPoint is where streaming begins: a position and whether to ask the
// server by GTID set (pos.GTIDSet, which may be empty on MariaDB: no
// transaction ever) or by file:pos.
type startPoint struct {
	pos    position.MySQL
	byGTID bool
}

// resolve turns a start spec (see position.ParseFrom) into a start point on
// server s. MariaDB always streams by GTID: file positions are translated
// with BINLOG_GTID_POS, so every position the reader emits carries the
// GTID state and can fail over. MySQL streams by GTID when gtid_mode=ON and
// the start has a GTID set; a file:pos start stays in file mode (MySQL
// cannot translate a file offset to a GTID set without reading the binlog).
func (r *Reader) resolve(ctx context.Context, s *server, from string) (startPoint, error) {
	if from == "" {
		from = "latest"
	}
	f, err := position.ParseFrom(from)
	if err != nil {
		return startPoint{}, &fatalError{err}
	}
	base := position.MySQL{ServerID: s.id, ServerUUID: s.uuid, Flavor: s.flavor}
	switch f.Kind {
	case position.FromLatest:
		file, pos, executed, err := masterStatus(ctx, s)
		if err != nil {
			return startPoint{}, err
		}
		base.File, base.Pos = file, pos
		if s.flavor == flavorMariaDB {
			return r.mariaFromFile(ctx, s, base)
		}
		base.GTIDSet = executed
		return startPoint{pos: base, byGTID: s.gtids}, nil
	case position.FromEarliest:
		files, err := binaryLogs(ctx, s.db)
		if err != nil {
			return startPoint{}, err
		}
		base.File, base.Pos = files[0], 4
		if s.flavor == flavorMariaDB {
			return r.mariaFromFile(ctx, s, base)
		}
		if s.gtids {
			// Everything purged counts as read, so the dump starts at the
			// oldest transaction still in the binlog.
			if err := s.db.QueryRowContext(ctx, "SELECT @@gtid_purged").Scan(&base.GTIDSet); err != nil {
				return startPoint{}, fmt.Errorf("reading gtid_purged: %w", err)
			}
			base.GTIDSet = cleanSet(base.GTIDSet)
		}
		return startPoint{pos: base, byGTID: s.gtids}, nil
	case position.FromGTID:
		if !s.gtids {
			return startPoint{}, fatalf("--from %s: server %s has gtid_mode OFF; start from a file:pos instead", from, s.addr)
		}
		if f.Flavor != s.flavor {
			return startPoint{}, fatalf("--from %s is a %s GTID set but %s runs %s", from, f.Flavor, s.addr, s.flavor)
		}
		base.GTIDSet = f.GTID
		return startPoint{pos: base, byGTID: true}, nil
	case position.FromFile:
		base.File, base.Pos = f.File, f.Pos
		return r.fromFile(ctx, s, base)
	case position.FromPosition:
		return r.fromStored(ctx, s, f.Position)
	}
	return startPoint{}, fatalf("--from %s: the binlog reader starts from earliest, latest, gtid:<set>, file:<name>:<pos> or a stored position, not %s", from, f.Kind)
}

// fromStored resumes from a position this reader emitted earlier.
func (r *Reader) fromStored(ctx context.Context, s *server, p position.MySQL) (startPoint, error) {
	if p.Flavor != "" && p.Flavor != s.flavor {
		return startPoint{}, fatalf("stored position %s was taken on a %s server but %s runs %s", p, p.Flavor, s.addr, s.flavor)
	}
	if p.GTIDSet != "" && s.gtids {
		p.Flavor = s.flavor
		return startPoint{pos: p, byGTID: true}, nil
	}
	if p.File == "" {
		return startPoint{}, fatalf("stored position %s has only a GTID set but %s has gtid_mode OFF", p, s.addr)
	}
	if err := sameServer(s, p); err != nil {
		return startPoint{}, err
	}
	return r.fromFile(ctx, s, p)
}

// fromFile starts at a file:pos of server s.
func (r *Reader) fromFile(ctx context.Context, s *server, p position.MySQL) (startPoint, error) {
	p.ServerID, p.ServerUUID, p.Flavor = s.id, s.uuid, s.flavor
	if err := CheckPositionAvailable(ctx, s.db, p); err != nil {
		return startPoint{}, err
	}
	if s.flavor == flavorMariaDB {
		return r.mariaFromFile(ctx, s, p)
	}
	p.GTIDSet = ""
	return startPoint{pos: p, byGTID: false}, nil
}

// mariaFromFile adds the GTID state at p.File:p.Pos (BINLOG_GTID_POS), so
// MariaDB streams by GTID from exactly that point.
func (r *Reader) mariaFromFile(ctx context.Context, s *server, p position.MySQL) (startPoint, error) {
	var set sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", p.File, p.Pos).Scan(&set); err != nil {
		return startPoint{}, fmt.Errorf("translating %s:%d to a GTID position: %w", p.File, p.Pos, err)
	}
	if !set.Valid {
		return startPoint{}, fatalf("%s:%d is not the start of an event in a binlog of %s (BINLOG_GTID_POS is NULL): give the position of a transaction boundary, e.g. from SHOW BINLOG EVENTS", p.File, p.Pos, s.addr)
	}
	p.GTIDSet = cleanSet(set.String)
	return startPoint{pos: p, byGTID: true}, nil
}

// sameServer refuses a file position of another server: without GTIDs a
// file offset only means something on the server that wrote it.
func sameServer(s *server, p position.MySQL) error {
	if p.ServerID != 0 && p.ServerID != s.id || p.ServerUUID != "" && s.uuid != "" && p.ServerUUID != s.uuid {
		return fatalf("position %s belongs to server_id %d %s but %s is server_id %d %s; without GTIDs capture cannot move to another server (enable GTIDs, or re-snapshot and start with --from latest)",
			p, p.ServerID, p.ServerUUID, s.addr, s.id, s.uuid)
	}
	return nil
}

// masterStatus returns the server's current binlog file, offset and (MySQL)
// executed GTID set, read together in one statement.
func masterStatus(ctx context.Context, s *server) (string, uint64, string, error) {
	rows, err := queryMaps(ctx, s.db, "SHOW MASTER STATUS")
	if err != nil && s.flavor == flavorMySQL {
		rows, err = queryMaps(ctx, s.db, "SHOW BINARY LOG STATUS") // MySQL 8.4 removed the old name
	}
	if err != nil {
		return "", 0, "", fmt.Errorf("reading the binlog position of %s (needs REPLICATION CLIENT, or BINLOG MONITOR on MariaDB): %w", s.addr, err)
	}
	if len(rows) == 0 {
		return "", 0, "", fatalf("%s has no binary log (log_bin is OFF): enable log_bin", s.addr)
	}
	pos, err := strconv.ParseUint(rows[0]["position"], 10, 64)
	if err != nil {
		return "", 0, "", fmt.Errorf("binlog position of %s: %w", s.addr, err)
	}
	return rows[0]["file"], pos, cleanSet(rows[0]["executed_gtid_set"]), nil
}

// binaryLogs lists the server's binlog files, oldest first.
func binaryLogs(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := queryMaps(ctx, db, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("listing binary logs (needs REPLICATION CLIENT, or BINLOG MONITOR on MariaDB): %w", err)
	}
	if len(rows) == 0 {
		return nil, fatalf("the server has no binary logs: enable log_bin")
	}
	files := make([]string, len(rows))
	for i, row := range rows {
		files[i] = row["log_name"]
	}
	return files, nil
}

// queryMaps runs a statement whose columns vary across versions (SHOW ...)
// and returns its rows as lower-cased column name -> text.
func queryMaps(ctx context.Context, db *sql.DB, q string, args ...any) ([]map[string]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			m[strings.ToLower(c)] = vals[i].String
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// cleanSet removes the newlines MySQL puts into long GTID sets.
func cleanSet(s string) string {
	return strings.Join(strings.Fields(s), "")
}
