package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Check is one preflight finding about a source server.
type Check struct {
	// Name is the setting or property checked, e.g. "binlog_row_image".
	Name string
	OK   bool
	// Fatal: capture cannot run correctly while this check fails. A
	// failed non-fatal check limits something (failover, how long capture
	// may be down) and is worth a warning.
	Fatal bool
	// Detail says what was found; Fix how to correct it when not OK.
	Detail string
	Fix    string
}

func (c Check) String() string {
	state := "ok"
	switch {
	case !c.OK && c.Fatal:
		state = "FAIL"
	case !c.OK:
		state = "warn"
	}
	s := fmt.Sprintf("[%s] %s: %s", state, c.Name, c.Detail)
	if !c.OK && c.Fix != "" {
		s += " (fix: " + c.Fix + ")"
	}
	return s
}

// minRetention is the binlog retention below which Preflight warns: a
// capture outage longer than the retention loses the position.
const minRetention = 24 * time.Hour

// Preflight checks that the server at db can be captured: ROW binlog with
// full images and full metadata, GTIDs, the replication privileges of the
// connected user and the binlog retention. Each failed check names the
// setting and the fix. It returns what it could check; a lost connection
// shows as a failed "connection" check.
func Preflight(ctx context.Context, db *sql.DB) []Check {
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return []Check{{Name: "connection", Fatal: true, Detail: err.Error(), Fix: "check the address, user and password"}}
	}
	maria := strings.Contains(strings.ToLower(version), "mariadb")
	vars := map[string]string{}
	rows, err := queryMaps(ctx, db, `SHOW GLOBAL VARIABLES WHERE Variable_name IN
		('log_bin','binlog_format','binlog_row_image','binlog_row_metadata','gtid_mode','gtid_strict_mode',
		 'expire_logs_days','binlog_expire_logs_seconds','server_id','binlog_row_value_options')`)
	if err != nil {
		return []Check{{Name: "connection", Fatal: true, Detail: "reading server variables: " + err.Error(), Fix: "check the user's privileges"}}
	}
	for _, r := range rows {
		vars[strings.ToLower(r["variable_name"])] = r["value"]
	}
	setting := func(name, want, fix string) Check {
		got, ok := vars[name]
		c := Check{Name: name, Fatal: true, OK: ok && strings.EqualFold(got, want), Detail: name + " = " + got}
		if !ok {
			c.Detail = name + " does not exist on " + version + " (MySQL 8.0.1+ or MariaDB 10.5+ is needed)"
		}
		if !c.OK {
			c.Fix = fix
		}
		return c
	}
	checks := []Check{
		setting("log_bin", "ON", "start the server with log_bin (and log_slave_updates on replicas)"),
		setting("binlog_format", "ROW", "SET GLOBAL binlog_format=ROW and binlog_format=ROW in my.cnf"),
		setting("binlog_row_image", "FULL", "SET GLOBAL binlog_row_image=FULL and binlog_row_image=FULL in my.cnf"),
		setting("binlog_row_metadata", "FULL", "SET GLOBAL binlog_row_metadata=FULL and binlog_row_metadata=FULL in my.cnf"),
		serverIDCheck(vars["server_id"]),
	}
	if maria {
		c := setting("gtid_strict_mode", "ON", "SET GLOBAL gtid_strict_mode=ON and gtid_strict_mode=ON in my.cnf")
		c.Fatal = false
		if !c.OK {
			c.Detail += " (without strict mode a domain may log GTIDs out of order, and a GTID position may then skip transactions after a failover)"
		}
		checks = append(checks, c)
	} else {
		c := setting("gtid_mode", "ON", "gtid_mode=ON and enforce_gtid_consistency=ON in my.cnf (see the MySQL manual for switching online)")
		c.Fatal = false
		if !c.OK {
			c.Detail += " (without GTIDs positions are file:pos: capture cannot fail over to another server)"
		}
		checks = append(checks, c)
		if opts := vars["binlog_row_value_options"]; strings.Contains(strings.ToUpper(opts), "PARTIAL_JSON") {
			checks = append(checks, Check{Name: "binlog_row_value_options", Fatal: true, Detail: "binlog_row_value_options = " + opts + " (partial JSON updates lose the full value)",
				Fix: "SET GLOBAL binlog_row_value_options='' and in my.cnf"})
		}
	}
	checks = append(checks, privilegeCheck(ctx, db, maria), retentionCheck(vars))
	return checks
}

func serverIDCheck(v string) Check {
	c := Check{Name: "server_id", Fatal: true, OK: v != "" && v != "0", Detail: "server_id = " + v}
	if !c.OK {
		c.Fix = "give the server a non-zero server_id in my.cnf; a server with server_id 0 refuses replicas"
	}
	return c
}

// privilegeCheck reads the connected user's global grants: streaming needs
// REPLICATION SLAVE (REPLICA), reading positions REPLICATION CLIENT
// (MariaDB 10.5+: BINLOG MONITOR), or ALL PRIVILEGES.
func privilegeCheck(ctx context.Context, db *sql.DB, maria bool) Check {
	c := Check{Name: "replication privileges", Fatal: true}
	rows, err := db.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		c.Detail, c.Fix = "SHOW GRANTS failed: "+err.Error(), "check the user"
		return c
	}
	defer rows.Close()
	var global []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			c.Detail = "reading grants: " + err.Error()
			return c
		}
		if u := strings.ToUpper(g); strings.Contains(u, " ON *.* TO ") {
			// Only the privileges: the rest names the user and, on
			// MariaDB, its password hash, which must not reach a log.
			global = append(global, u[:strings.Index(u, " ON *.* TO ")+len(" ON *.*")])
		}
	}
	all := strings.Join(global, "\n")
	has := func(names ...string) bool {
		for _, p := range names {
			if strings.Contains(all, p) {
				return true
			}
		}
		return false
	}
	client := []string{"REPLICATION CLIENT"}
	if maria {
		client = append(client, "BINLOG MONITOR")
	}
	switch {
	case has("ALL PRIVILEGES"):
		c.OK, c.Detail = true, "ALL PRIVILEGES on *.*"
	case has("REPLICATION SLAVE", "REPLICATION REPLICA") && has(client...):
		c.OK, c.Detail = true, "replication grants present"
	default:
		c.Detail = "global grants lack replication privileges: " + strings.Join(global, "; ")
		c.Fix = "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO the capture user"
		if maria {
			c.Fix = "GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO the capture user"
		}
	}
	return c
}

// retentionCheck warns when binlogs expire within a day: capture must not
// be down longer than the retention, or its position is purged.
func retentionCheck(vars map[string]string) Check {
	c := Check{Name: "binlog retention", OK: true}
	var retention time.Duration
	if s, ok := vars["binlog_expire_logs_seconds"]; ok {
		n, _ := strconv.ParseInt(s, 10, 64)
		retention = time.Duration(n) * time.Second
	}
	if d, ok := vars["expire_logs_days"]; ok && retention == 0 {
		f, _ := strconv.ParseFloat(d, 64)
		retention = time.Duration(f * float64(24*time.Hour))
	}
	switch {
	case retention == 0:
		c.Detail = "binlogs never expire automatically (watch the disk)"
	case retention < minRetention:
		c.OK = false
		c.Detail = fmt.Sprintf("binlogs expire after %s: a capture outage longer than that needs a re-snapshot", retention)
		c.Fix = "binlog_expire_logs_seconds=604800 (7 days) or more"
	default:
		c.Detail = fmt.Sprintf("binlogs expire after %s", retention)
	}
	return c
}
