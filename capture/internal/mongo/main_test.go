package mongo

import (
	"testing"

	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// TestMain starts the shared Kafka broker; the Mongo server
// (mongo-java-server, or SLUICE_TEST_MONGO_URI) starts on first use.
func TestMain(m *testing.M) { testenv.Main(m, testenv.NeedKafka) }
