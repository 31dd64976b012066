package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GaleraProvider is the Galera 4 library of the Debian package galera-4.
const GaleraProvider = "/usr/lib/galera/libgalera_smm.so"

// GaleraDomainID is the wsrep_gtid_domain_id of every test cluster: the
// GTID domain in which all nodes log the cluster's writes. Each node's own
// gtid_domain_id (for writes that bypass the cluster) is GaleraDomainID+i,
// i the 1-based node number.
const GaleraDomainID = 100

// GaleraServerID is the server_id of every node. With wsrep_gtid_mode the
// nodes must share it, or one write set gets a different GTID on each node
// (MariaDB, "Using MariaDB GTIDs with MariaDB Galera Cluster").
const GaleraServerID = 1

// GaleraOptions tunes a private Galera cluster.
type GaleraOptions struct {
	// Nodes is the cluster size (default 2).
	Nodes int
	// Extra lines for every node's [mariadbd] section (later ones win).
	Extra []string
	// StartTimeout bounds each node's start-up, state transfer included
	// (default 120s).
	StartTimeout time.Duration
}

// Galera is a MariaDB Galera cluster on loopback: every node a private
// MariaDB (its own datadir, port and socket) with the binlog on, ROW
// format, full row images and metadata, log_slave_updates and
// wsrep_gtid_mode, so every node's binlog holds every cluster write under
// the same GTID and a binlog reader can fail over between them by GTID
// (DESIGN §10). Node 1 bootstraps the cluster; the others join it by a
// mariabackup state transfer (SST) from a running node.
//
// Failure detection is tightened (a node silent for about 3s is dropped
// from the cluster, instead of 15s) so failover tests stay short. Quorum
// is by weight, one per node: in a 2-node cluster the survivor of a crash
// has half the weight and goes non-primary (it refuses queries) unless a
// test first gives it more weight, see SetWeight.
type Galera struct {
	// Nodes are the cluster's nodes, node 1 first. Kill, Stop and Addr
	// work as on a plain MariaDB; Restart rejoins the cluster.
	Nodes []*MariaDB
	name  string
	gcomm []int // group communication port of each node
}

// StartGalera starts a cluster of opts.Nodes nodes and waits until every
// node is synced. The caller should Remove it; StopAll (run by Main) also
// does.
func StartGalera(ctx context.Context, opts GaleraOptions) (*Galera, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 120 * time.Second
	}
	if _, err := os.Stat(GaleraProvider); err != nil {
		return nil, fmt.Errorf("galera provider not found (Debian package galera-4): %w", err)
	}
	for _, tool := range []string{"mariadb-backup", "wsrep_sst_mariabackup", "socat"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (Debian packages mariadb-backup, socat), needed for the state transfer: %w", tool, err)
		}
	}
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			return nil, fmt.Errorf("mariadbd not found (Debian package mariadb-server): %w", err)
		}
	}
	g := &Galera{name: "sluice-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)}
	for range opts.Nodes {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		g.gcomm = append(g.gcomm, p)
	}
	for i := range opts.Nodes {
		dir, err := tempDir("galera")
		if err != nil {
			g.Remove()
			return nil, err
		}
		m := &MariaDB{bin: bin, dir: dir, datadir: filepath.Join(dir, "data"), socket: filepath.Join(dir, "mariadb.sock"),
			cnf: filepath.Join(dir, "my.cnf"), opts: MariaDBOptions{
				ServerID: GaleraServerID, GTIDDomainID: GaleraDomainID + uint32(i) + 1, StartTimeout: opts.StartTimeout}}
		g.Nodes = append(g.Nodes, m)
		if err := g.initNode(ctx, i, opts.Extra); err != nil {
			g.Remove()
			return nil, fmt.Errorf("galera node %d: %w", i+1, err)
		}
	}
	// Node 1 bootstrapped with an empty cluster address; now that the
	// cluster exists, a restart of it must join, not found a second one.
	g.Nodes[0].opts.Extra = g.wsrepLines(0, opts.Extra, false)
	if err := os.WriteFile(g.Nodes[0].cnf, []byte(g.Nodes[0].config()), 0o644); err != nil {
		g.Remove()
		return nil, fmt.Errorf("rewriting node 1 my.cnf: %w", err)
	}
	register(g.Remove)
	return g, nil
}

// initNode makes node i's datadir (without wsrep: the installer's
// bootstrap run must not join anything), then starts it in the cluster.
// Node 0 founds the cluster and creates the test user, which the others
// receive by state transfer.
func (g *Galera) initNode(ctx context.Context, i int, extra []string) error {
	m := g.Nodes[i]
	var err error
	if m.port, err = FreePort(); err != nil {
		return err
	}
	// config() may name a private tmpdir there (as MariaDB.init makes).
	if err := os.MkdirAll(filepath.Join(m.dir, "tmp"), 0o700); err != nil {
		return fmt.Errorf("making tmpdir: %w", err)
	}
	if err := os.WriteFile(m.cnf, []byte(m.config()), 0o644); err != nil {
		return fmt.Errorf("writing my.cnf: %w", err)
	}
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return fmt.Errorf("mariadb-install-db not found (Debian package mariadb-server): %w", err)
	}
	out, err := runTool(ctx, nil, m.dir, install, "--defaults-file="+m.cnf,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--user=root")
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	m.opts.Extra = g.wsrepLines(i, extra, i == 0)
	if err := os.WriteFile(m.cnf, []byte(m.config()), 0o644); err != nil {
		return fmt.Errorf("writing my.cnf: %w", err)
	}
	if err := m.start(ctx); err != nil {
		return err
	}
	if err := m.waitSynced(ctx); err != nil {
		return err
	}
	if i > 0 {
		return nil
	}
	return m.createTestUser(ctx)
}

// wsrepLines are node i's Galera settings. bootstrap gives the empty
// cluster address that founds a new cluster.
func (g *Galera) wsrepLines(i int, extra []string, bootstrap bool) []string {
	m := g.Nodes[i]
	var peers []string
	for _, p := range g.gcomm {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	address := "gcomm://" + strings.Join(peers, ",")
	if bootstrap {
		address = "gcomm://"
	}
	// Galera derives the IST and SST ports from the gcomm port by
	// default, which can collide between nodes on one host and with
	// other servers' free ports: each gets its own free port instead.
	ist, _ := FreePort()
	sst, _ := FreePort()
	provider := []string{
		"gmcast.listen_addr=tcp://127.0.0.1:" + strconv.Itoa(g.gcomm[i]),
		"ist.recv_addr=127.0.0.1:" + strconv.Itoa(ist),
		"gcache.size=64M",
		// Drop a silent node after ~3s instead of 15s (keepalive <
		// suspect <= inactive, as Galera requires).
		"evs.keepalive_period=PT0.5S",
		"evs.suspect_timeout=PT2S",
		"evs.inactive_timeout=PT3S",
		"evs.inactive_check_period=PT0.5S",
		"evs.install_timeout=PT3S",
	}
	lines := []string{
		"wsrep_on=ON",
		"wsrep_provider=" + GaleraProvider,
		"wsrep_provider_options=\"" + strings.Join(provider, ";") + "\"",
		"wsrep_cluster_name=" + g.name,
		"wsrep_cluster_address=" + address,
		"wsrep_node_name=node" + strconv.Itoa(i+1),
		"wsrep_node_address=127.0.0.1:" + strconv.Itoa(g.gcomm[i]),
		"wsrep_node_incoming_address=127.0.0.1:" + strconv.Itoa(m.port),
		"wsrep_sst_method=mariabackup",
		"wsrep_sst_receive_address=127.0.0.1:" + strconv.Itoa(sst),
		// The donor's mariabackup connects over the socket as root, which
		// has no password there (mariadb-install-db normal auth).
		"wsrep_sst_auth=root:",
		"wsrep_gtid_mode=ON",
		"wsrep_gtid_domain_id=" + strconv.Itoa(GaleraDomainID),
		"wsrep_slave_threads=1",
		"innodb_autoinc_lock_mode=2",
	}
	return append(lines, extra...)
}

// waitSynced waits until the node is a synced member of a primary
// component: it serves queries and holds every write of the cluster.
func (m *MariaDB) waitSynced(ctx context.Context) error {
	db, err := sql.Open("mysql", "root@unix("+m.socket+")/")
	if err != nil {
		return err
	}
	defer db.Close()
	var last string
	err = WaitFor(ctx, m.opts.StartTimeout, "the galera node to be synced", func(ctx context.Context) error {
		if p := m.process(); p != nil && p.exited() {
			return fmt.Errorf("%w: mariadbd exited (%v)", errExited, p.waitErr)
		}
		var name string
		if err := db.QueryRowContext(ctx, "SHOW STATUS LIKE 'wsrep_local_state_comment'").Scan(&name, &last); err != nil {
			return err
		}
		var status string
		if err := db.QueryRowContext(ctx, "SHOW STATUS LIKE 'wsrep_cluster_status'").Scan(&name, &status); err != nil {
			return err
		}
		if last != "Synced" || status != "Primary" {
			return fmt.Errorf("state %s, cluster status %s", last, status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w; log tail (%s):\n%s", err, m.logPath(), m.LogTail(40))
	}
	return nil
}

// WaitSynced waits until node i (0-based) is synced with a primary
// component, e.g. after Restart.
func (g *Galera) WaitSynced(ctx context.Context, i int) error { return g.Nodes[i].waitSynced(ctx) }

// SetWeight sets node i's quorum weight (pc.weight, default 1). A node
// holding more than half of the cluster's weight stays primary when the
// others crash; give the survivor-to-be of a 2-node failover weight 2.
func (g *Galera) SetWeight(ctx context.Context, i, weight int) error {
	db, err := sql.Open("mysql", "root@unix("+g.Nodes[i].socket+")/")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "SET GLOBAL wsrep_provider_options = ?", "pc.weight="+strconv.Itoa(weight)); err != nil {
		return fmt.Errorf("setting pc.weight of node %d: %w", i+1, err)
	}
	return nil
}

// ClusterSize is wsrep_cluster_size as node i sees it.
func (g *Galera) ClusterSize(ctx context.Context, i int) (int, error) {
	s, err := g.Nodes[i].queryStatus(ctx, "wsrep_cluster_size")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

func (m *MariaDB) queryStatus(ctx context.Context, name string) (string, error) {
	db, err := sql.Open("mysql", "root@unix("+m.socket+")/")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = ?",
		strings.ToUpper(name)).Scan(&v); err != nil {
		return "", fmt.Errorf("SHOW STATUS LIKE %s: %w", name, err)
	}
	return v, nil
}

// Addrs are host:port of every node, node 1 first: a capture's failover
// list.
func (g *Galera) Addrs() []string {
	var a []string
	for _, m := range g.Nodes {
		a = append(a, m.Addr())
	}
	return a
}

// Remove stops every node and deletes their directories. It may be called
// more than once.
func (g *Galera) Remove() {
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		if g.Nodes[i] != nil {
			g.Nodes[i].Remove()
		}
	}
}

// LogTails returns the last n lines of every node's error log, labelled.
func (g *Galera) LogTails(n int) string {
	var b strings.Builder
	for i, m := range g.Nodes {
		fmt.Fprintf(&b, "--- galera node %d (%s) log tail:\n%s\n", i+1, m.logPath(), m.LogTail(n))
	}
	return b.String()
}

// NewGalera starts a cluster of the test's own, removed when the test
// ends. Like the other servers it fails (CI) or skips (locally) when the
// cluster cannot start, with the reason.
func NewGalera(tb testing.TB, opts GaleraOptions) *Galera {
	tb.Helper()
	skipIfDisabled(tb)
	start := time.Now()
	g, err := StartGalera(tb.Context(), opts)
	if err != nil {
		unavailable(tb, "a MariaDB Galera cluster", err)
	}
	tb.Cleanup(g.Remove)
	v, _ := g.Nodes[0].Version(tb.Context())
	tb.Logf("testenv: Galera cluster of %d nodes (MariaDB %s) on %s started in %s", len(g.Nodes), v,
		strings.Join(g.Addrs(), ", "), time.Since(start).Round(time.Millisecond))
	return g
}
