#!/usr/bin/env bash
# The full benchmark run for maintainers: builds benchmarks.jar, builds the data sets once (kept in
# bench/target/bench-data; the 1,000,000-token tokenvault store takes about 8 minutes the first time), measures
# memory, runs every JMH benchmark with the settings in their annotations (-f 1 -wi 2 -i 3 -r 1s, saves -r 2s),
# and writes bench/results/: latest.json (JMH), latest.md (tables and targets), memory.md, and the SVG charts.
# About 24 minutes on 2 cores once the data sets exist. Extra arguments go to JMH (e.g. a benchmark regex).
set -euo pipefail
cd "$(dirname "$0")/.."

mvn -B -ntp -pl bench -am package -DskipTests
# Run from a copy, so that a build during the run cannot replace the jar under the forked JVMs.
run_jar=$(mktemp -d)/benchmarks.jar
cp bench/target/benchmarks.jar "$run_jar"
data="-Dtokenvault.bench.data=$PWD/bench/target/bench-data"
out=bench/results
mkdir -p "$out"

java $data -Xmx8g -cp "$run_jar" dev.tokenvault.bench.MemoryReport 1000 100000 1000000 | tee "$out/memory.md"
java $data -jar "$run_jar" -rf json -rff "$out/latest.json" "$@" | tee "$out/latest.txt"

chart() { java -cp "$run_jar" dev.tokenvault.bench.chart.SvgChart "$out/latest.json" "$out/$1" "$2" "$3"; }
chart find-single-thread.svg "findToken, 1 thread: ns/op by store, size and lookup path" 'FindToken.*\.singleThread'
chart find-two-threads.svg "findToken, 2 threads: ns/op per thread by store, size and lookup path" 'FindToken.*\.twoThreads'
chart save.svg "saveToken, durable refresh and insert: time per save per thread" 'SaveToken'
chart crypto.svg "AES-256-GCM seal+open of 400 bytes, and one blind-index HMAC" 'Crypto'
java -cp "$run_jar" dev.tokenvault.bench.chart.ResultTable "$out/latest.json" > "$out/latest.md"
echo "results in $out/"
