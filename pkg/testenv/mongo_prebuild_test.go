package testenv

import (
	"os"
	"testing"
)

// TestMongoPrebuild builds the Mongo test servers (FerretDB and
// mongo-java-server) into .cache, or finds them there. scripts/deps.sh
// runs it so the builds happen during `make deps`, not inside a timed
// test; it needs no server, so it also runs under SLUICE_TEST_SERVERS=none.
//
// With SLUICE_MONGO_PREBUILD=1 (as deps.sh sets) a failed build fails the
// test even outside CI.
func TestMongoPrebuild(t *testing.T) {
	fail := func(what string, err error) {
		t.Helper()
		if os.Getenv("SLUICE_MONGO_PREBUILD") == "1" {
			t.Fatalf("%s: %v", what, err)
		}
		unavailable(t, what, err)
	}
	if os.Getenv("SLUICE_TEST_MONGO_URI") != "" {
		t.Skip("SLUICE_TEST_MONGO_URI is set: the test servers are not used")
	}
	bin, err := FerretDBBinary(t.Context())
	if err != nil {
		fail("FerretDB build", err)
	}
	t.Logf("FerretDB %s: %s", FerretDBVersion, bin)
	libs, err := MongoJavaServerLibs(t.Context())
	if err != nil {
		fail("mongo-java-server build", err)
	}
	t.Logf("mongo-java-server %s: %s", MongoJavaServerVersion, libs)
}
