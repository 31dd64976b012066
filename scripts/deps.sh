#!/usr/bin/env bash
# Installs what the tests and the demo need, and nothing twice:
#   - Debian packages: MariaDB (+ Galera, mariabackup), PostgreSQL, kcat,
#     docker-compose (pkg/deploy validates docker-compose.yml with it; no
#     Docker engine is needed or started)
#   - the Apache Kafka broker jars from Maven Central (tools/kafka/pom.xml),
#     cached in .cache/kafka/<version>/libs (git-ignored)
# Quick when everything is present. Never starts the system services: tests
# run private instances of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' tools/kafka/pom.xml)
KAFKA_LIBS=".cache/kafka/${KAFKA_VERSION}/libs"

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
for pkg in mariadb-server galera-4 mariadb-backup postgresql kcat docker-compose; do
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		echo "deps: $pkg present"
	else
		need+=("$pkg")
	fi
done
# The broker runs on Java 17 and its jars come through Maven; both are
# usually there already, so they are checked by command, not package.
for tool in java:openjdk-17-jre-headless mvn:maven; do
	if command -v "${tool%%:*}" >/dev/null; then
		echo "deps: ${tool%%:*} present"
	else
		need+=("${tool#*:}")
	fi
done
if [ "${#need[@]}" -gt 0 ]; then
	echo "deps: installing ${need[*]}"
	# policy-rc.d exit 101 keeps apt from starting the system MariaDB and
	# PostgreSQL services; only private test instances are ever used.
	created_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | sudo_ tee /usr/sbin/policy-rc.d >/dev/null
		sudo_ chmod +x /usr/sbin/policy-rc.d
		created_policy=1
	fi
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	if [ "$created_policy" -eq 1 ]; then sudo_ rm -f /usr/sbin/policy-rc.d; fi
	echo "deps: installed ${need[*]}"
fi

command -v go >/dev/null || { echo "deps: go is required (Go 1.26, not a Debian package) but not installed" >&2; exit 1; }

# pkg/testenv runs the broker version it names; a mismatch would make the
# tests look for jars that are never fetched.
testenv_version=$(sed -n 's/^const KafkaVersion = "\(.*\)"$/\1/p' pkg/testenv/kafka.go)
if [ "$testenv_version" != "$KAFKA_VERSION" ]; then
	echo "deps: tools/kafka/pom.xml pins kafka $KAFKA_VERSION but pkg/testenv/kafka.go has KafkaVersion=$testenv_version" >&2
	exit 1
fi

if [ -f "${KAFKA_LIBS}/.complete" ]; then
	echo "deps: kafka ${KAFKA_VERSION} jars present (${KAFKA_LIBS})"
else
	echo "deps: fetching kafka ${KAFKA_VERSION} jars from Maven Central"
	rm -rf "${KAFKA_LIBS}"
	mkdir -p "${KAFKA_LIBS}"
	mvn -q -B -f tools/kafka/pom.xml dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$(pwd)/${KAFKA_LIBS}"
	ls "${KAFKA_LIBS}"/kafka_2.13-"${KAFKA_VERSION}".jar >/dev/null
	touch "${KAFKA_LIBS}/.complete"
	echo "deps: kafka ${KAFKA_VERSION} jars ready"
fi

# Mongo wire servers for the Mongo tests (no real mongod is in the package
# registries): FerretDB built from its own Go module (tools/mongo/ferretdb,
# outside go.work, so its dependencies stay out of pkg/capture/apply) and
# mongo-java-server with its launcher through Maven
# (tools/mongo/java-server), both into .cache. pkg/testenv does the builds
# (nothing when cached); running its prebuild test does them ahead of the
# tests. The versions pkg/testenv names must be the ones the tools pin.
fdb_version=$(sed -n 's/^require github.com\/FerretDB\/FerretDB \(v[^ ]*\)$/\1/p' tools/mongo/ferretdb/go.mod)
fdb_testenv=$(sed -n 's/^const FerretDBVersion = "\(.*\)"$/\1/p' pkg/testenv/mongo_build.go)
mjs_version=$(sed -n 's:.*<mongo-java-server.version>\(.*\)</mongo-java-server.version>.*:\1:p' tools/mongo/java-server/pom.xml)
mjs_testenv=$(sed -n 's/^const MongoJavaServerVersion = "\(.*\)"$/\1/p' pkg/testenv/mongo_build.go)
if [ "$fdb_version" != "$fdb_testenv" ] || [ "$mjs_version" != "$mjs_testenv" ]; then
	echo "deps: tools/mongo pins FerretDB $fdb_version and mongo-java-server $mjs_version, but pkg/testenv/mongo_build.go has $fdb_testenv and $mjs_testenv" >&2
	exit 1
fi
echo "deps: building the Mongo test servers (FerretDB $fdb_version, mongo-java-server $mjs_version) if missing"
if ! out=$(cd pkg && SLUICE_TEST_SERVERS=none SLUICE_MONGO_PREBUILD=1 CI= go test ./testenv/ -run '^TestMongoPrebuild$' -count=1 -v 2>&1); then
	echo "$out" | tail -40 >&2
	echo "deps: building the Mongo test servers failed" >&2
	exit 1
fi
echo "$out" | grep -E 'FerretDB v|mongo-java-server [0-9]' | sed 's/^ */deps: /'
