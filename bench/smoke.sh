#!/usr/bin/env bash
# CI smoke pass of the benchmarks: every benchmark once, briefly, at the smallest size, so that they cannot rot.
# (-p entries=1000 is IndexStructureBenchmark's size: without it that benchmark alone loads a million entries;
# -p bytes=1048576 keeps MemoryReadBenchmark from writing and mapping a gigabyte.)
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

# -f 0: every trial runs in this one JVM. A fork per trial cost about 3 to 7 s of JVM start-up each (118 trials: 7
# minutes of a 14-minute CI run, against about 2 minutes without); the smoke pass proves that each benchmark's setup,
# body and teardown run, which a fork does not change, and its numbers mean nothing either way.
java -jar "$jar" -f 0 -wi 0 -i 1 -r 100ms -foe true -p tokens=1000 -p entries=1000 -p bytes=1048576 "${exclude[@]}" "$@"
