package binlog

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"
)

// Config of a Reader. Zero values take the defaults documented per field.
type Config struct {
	// Addrs are host:port of the source and, with GTIDs, its failover
	// peers, tried in order. Required.
	Addrs    []string
	User     string
	Password string
	// ServerID is the id this reader registers with as a replica. It must
	// differ from the server_id of every server and every other replica of
	// the source, or the server disconnects one of them. Required.
	ServerID uint32
	// Flavor is "mysql" or "mariadb"; empty detects it (SELECT VERSION()).
	// When set, a server of the other flavor is refused.
	Flavor string
	// TLS, when set, is used for both the replication and the catalog
	// connections.
	TLS *tls.Config

	// Tables reports whether changes of db.table are captured. nil
	// captures every table outside the system schemas (mysql, sys,
	// information_schema, performance_schema).
	Tables func(db, table string) bool
	// ExcludeColumn reports whether a column is left out of events. Key
	// columns are always kept: a change without its key cannot be
	// applied. nil keeps every column.
	ExcludeColumn func(db, table, column string) bool
	// KeylessFullRow keys tables without a primary key and without a
	// unique NOT NULL key by all their columns instead of refusing them.
	KeylessFullRow bool

	// HeartbeatPeriod is asked of the server (it sends a heartbeat when it
	// has had nothing to send for this long) and is how long the reader
	// waits without any event before sending a Heartbeat item itself.
	// Three periods without even a server heartbeat count as a dead
	// connection. Default 5s.
	HeartbeatPeriod time.Duration
	// ChannelCap bounds the events go-mysql reads ahead of the reader
	// (its internal channel). A rows event holds at most a few KB of rows
	// (binlog_row_event_max_size), so the read-ahead stays small; go-mysql
	// would otherwise buffer 10240 events. Default 64.
	ChannelCap int
	// RetryWindow is how long the reader keeps trying to reach a server
	// after the connection was lost before it gives up with an error.
	// Default 5m.
	RetryWindow time.Duration
	// MaxReconnects bounds reconnects that are not followed by progress
	// (a Commit or Heartbeat item), so an error that recurs at the same
	// event (e.g. a decoding failure) stops the reader instead of looping.
	// Default 10.
	MaxReconnects int

	// HoldRows and HoldBytes bound the rows of an open transaction held
	// back until its XID arrives, so they all carry it (Maxwell's xid on
	// every row). A bigger transaction streams: its earlier rows go out
	// with XID 0 and memory stays flat (G7). HoldBytes counts the values'
	// in-memory size. Defaults 10000 rows, 16 MiB.
	HoldRows, HoldBytes int

	// ConnectorName is the Source.Connector of events; empty uses the
	// detected flavor ("mysql" or "mariadb").
	ConnectorName string
	// Name (the capture name) and Version go into every event's Source.
	Name, Version string
	// Logger receives connection, DDL and failover logs; nil logs nothing.
	Logger *zap.Logger
	// Snapshot, when set, runs initial and on-demand snapshots
	// (snapshot.go); nil never snapshots.
	Snapshot *SnapshotConfig
}

// Defaults, as documented on Config.
const (
	defaultHeartbeat     = 5 * time.Second
	defaultChannelCap    = 64
	defaultRetryWindow   = 5 * time.Minute
	defaultMaxReconnects = 10
	defaultHoldRows      = 10000
	defaultHoldBytes     = 16 << 20
	// maxBackoff caps the wait between reconnect attempts: long enough
	// not to hammer a restarting server, short enough that capture
	// resumes within seconds of it coming back.
	maxBackoff = 10 * time.Second
	// dialTimeout bounds one TCP connect, so a black-holed address does
	// not hold up trying the next one.
	dialTimeout = 10 * time.Second
)

func (c *Config) defaults() {
	if c.HeartbeatPeriod <= 0 {
		c.HeartbeatPeriod = defaultHeartbeat
	}
	if c.ChannelCap <= 0 {
		c.ChannelCap = defaultChannelCap
	}
	if c.RetryWindow <= 0 {
		c.RetryWindow = defaultRetryWindow
	}
	if c.MaxReconnects <= 0 {
		c.MaxReconnects = defaultMaxReconnects
	}
	if c.HoldRows <= 0 {
		c.HoldRows = defaultHoldRows
	}
	if c.HoldBytes <= 0 {
		c.HoldBytes = defaultHoldBytes
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// validate reports every problem of the config at once.
func (c *Config) validate() error {
	var errs []error
	if len(c.Addrs) == 0 {
		errs = append(errs, errors.New("no source address (addrs)"))
	}
	for _, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("address %q: want host:port: %w", a, err))
		}
	}
	if c.ServerID == 0 {
		errs = append(errs, errors.New("server_id must be set to a replica id that no server of the source uses"))
	}
	switch c.Flavor {
	case "", flavorMySQL, flavorMariaDB:
	default:
		errs = append(errs, fmt.Errorf("flavor %q: want mysql, mariadb or empty (detect)", c.Flavor))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("binlog source config: %w", err)
	}
	return nil
}

// systemSchemas are never captured by default: their rows are server
// bookkeeping (e.g. mysql.gtid_slave_pos), not user data.
var systemSchemas = map[string]bool{"mysql": true, "sys": true, "information_schema": true, "performance_schema": true}

func (c *Config) captures(db, table string) bool {
	if c.Tables == nil {
		return !systemSchemas[db]
	}
	return c.Tables(db, table)
}
