package binlog

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-cdc/sluice/pkg/position"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestResolve: start specs become positions on the server, MariaDB ones
// always with their GTID state, and nonsense is refused with the reason.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	m := testenv.SharedMariaDB(t)
	r, err := New(testConfig(t, m, "none"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := r.openServer(ctx, m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	if srv.flavor != flavorMariaDB || !srv.gtids || srv.id != 1 {
		t.Fatalf("server %+v: want MariaDB with GTIDs, server_id 1", srv)
	}
	gtid, err := m.GTIDPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file, pos, err := m.BinlogPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fileSpec := "file:" + file + ":" + strconv.FormatUint(pos, 10)
	for _, from := range []string{"", "latest", fileSpec, `{"file":"` + file + `","pos":` + strconv.FormatUint(pos, 10) + `,"server_id":1}`} {
		sp, err := r.resolve(ctx, srv, from)
		if err != nil || !sp.byGTID || sp.pos.GTIDSet != gtid || sp.pos.File != file || sp.pos.Pos != pos {
			t.Errorf("resolve(%q) = %+v, %v; want GTID %s at %s:%d", from, sp, err, gtid, file, pos)
		}
	}
	for from, why := range map[string]string{
		"file:" + file + ":5":                                                  "BINLOG_GTID_POS",
		"time:2026-01-02T15:04:05Z":                                            "not time",
		"gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5":                        "mysql GTID set",
		`{"file":"` + file + `","pos":4,"server_id":99}`:                       "server_id 99",
		`{"gtid":"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5","flavor":"mysql"}`: "mysql server",
		"bogus": "want earliest",
	} {
		_, err := r.resolve(ctx, srv, from)
		if err == nil || !isFatal(err) || !strings.Contains(err.Error(), why) {
			t.Errorf("resolve(%q) = %v, want a fatal error saying %q", from, err, why)
		}
	}
}

func TestSameServer(t *testing.T) {
	s := &server{addr: "db:3306", id: 1, uuid: "3e11fa47-71ca-11e1-9e33-c80aa9429562"}
	for _, c := range []struct {
		p  position.MySQL
		ok bool
	}{
		{position.MySQL{File: "b.000001", Pos: 4}, true},
		{position.MySQL{File: "b.000001", Pos: 4, ServerID: 1, ServerUUID: s.uuid}, true},
		{position.MySQL{File: "b.000001", Pos: 4, ServerID: 2}, false},
		{position.MySQL{File: "b.000001", Pos: 4, ServerID: 1, ServerUUID: "4e11fa47-71ca-11e1-9e33-c80aa9429562"}, false},
	} {
		err := sameServer(s, c.p)
		if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), "cannot move to another server") {
			t.Errorf("sameServer(%+v) = %v, want ok %v", c.p, err, c.ok)
		}
	}
}
