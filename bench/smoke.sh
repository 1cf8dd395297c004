#!/usr/bin/env bash
# CI smoke pass of the benchmarks: every benchmark once, briefly, at the smallest size, so that they cannot rot.
# Not a measurement. Full runs are for maintainers (see bench/README.md). A few minutes on 2 cores.
# Builds bench/target/benchmarks.jar first when it is missing or older than a source file.
set -euo pipefail
cd "$(dirname "$0")/.."

jar=bench/target/benchmarks.jar
if [ ! -f "$jar" ] || [ -n "$(find store/src bench/src pom.xml store/pom.xml bench/pom.xml -newer "$jar" -type f 2>/dev/null | head -1)" ]; then
  mvn -B -ntp -pl bench -am package -DskipTests
fi

# The JDBC benchmarks need the MariaDB and PostgreSQL servers (.ci/run starts them); run by hand without them, they
# are left out with a message, but under CI=true their absence is a failure.
exclude=()
if [ -z "${TOKENVAULT_TEST_JDBC_URL:-}" ] || [ -z "${TOKENVAULT_TEST_PG_URL:-}" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "smoke.sh: CI=true but TOKENVAULT_TEST_JDBC_URL or TOKENVAULT_TEST_PG_URL is not set" >&2
    exit 1
  fi
  echo "smoke.sh: SKIPPED the JDBC benchmarks: no database servers (eval \"\$(.ci/mariadb.sh start)\" and .ci/postgres.sh)" >&2
  exclude=(-e 'Jdbc')
fi

java -jar "$jar" -f 1 -wi 0 -i 1 -r 100ms -foe true -p tokens=1000 "${exclude[@]}" "$@"
