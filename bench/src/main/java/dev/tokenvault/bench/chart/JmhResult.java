package dev.tokenvault.bench.chart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One row of JMH's JSON result ({@code -rf json}): the median of its measurement iterations, converted to
 * nanoseconds per operation, and JMH's score error.
 */
record JmhResult(String benchmarkClass, String method, int threads, Map<String, String> params, double nsPerOp,
                 double nsError) {

    /** The class name without package and without the {@code Benchmark} suffix. */
    String subject() {
        return benchmarkClass.endsWith("Benchmark")
                ? benchmarkClass.substring(0, benchmarkClass.length() - "Benchmark".length()) : benchmarkClass;
    }

    /** The subject with its variants folded: FindTokenScan is FindToken, SaveTokenSeed is SaveToken. */
    String family() {
        String s = subject();
        return s.startsWith("FindToken") ? "FindToken" : s.startsWith("SaveToken") ? "SaveToken" : s;
    }

    String param(String name) {
        return params.get(name);
    }

    /** Operations per second over all threads. */
    double opsPerSecond() {
        return threads * 1e9 / nsPerOp;
    }

    static List<JmhResult> read(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        List<JmhResult> out = new ArrayList<>();
        for (JsonNode n : root) {
            String bench = n.get("benchmark").asText();
            int dot = bench.lastIndexOf('.');
            String cls = bench.substring(0, dot);
            cls = cls.substring(cls.lastIndexOf('.') + 1);
            String method = bench.substring(dot + 1);
            Map<String, String> params = new LinkedHashMap<>();
            JsonNode p = n.get("params");
            if (p != null) {
                for (Iterator<Map.Entry<String, JsonNode>> it = p.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    params.put(e.getKey(), e.getValue().asText());
                }
            }
            String mode = n.get("mode").asText();
            int threads = n.get("threads").asInt();
            List<Map.Entry<String, JsonNode>> parts = groupParts(n);
            if (!parts.isEmpty()) {
                // A @Group benchmark: its primary metric mixes its methods; each method's own is a secondary one
                for (Map.Entry<String, JsonNode> part : parts) {
                    out.add(of(cls, method + ":" + part.getKey(), threads, params, mode, part.getValue()));
                }
                continue;
            }
            out.add(of(cls, method, threads, params, mode, n.get("primaryMetric")));
        }
        return out;
    }

    /**
     * The per-method metrics of a {@code @Group} benchmark (secondary metrics named after its methods), not
     * profilers' metrics (named {@code ·gc.alloc.rate} and the like); empty for any other benchmark.
     */
    private static List<Map.Entry<String, JsonNode>> groupParts(JsonNode n) {
        List<Map.Entry<String, JsonNode>> parts = new ArrayList<>();
        JsonNode secondary = n.get("secondaryMetrics");
        if (secondary != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = secondary.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                if (!name.isEmpty() && Character.isJavaIdentifierStart(name.charAt(0))
                        && name.chars().allMatch(Character::isJavaIdentifierPart)) {
                    parts.add(e);
                }
            }
        }
        return parts;
    }

    private static JmhResult of(String cls, String method, int threads, Map<String, String> params, String mode,
                                JsonNode pm) {
        // The median of the measurement iterations: on a shared, noisy machine one disturbed iteration moves
        // the mean a long way and the median little. JMH's error (99.9% interval of the mean) is kept as given.
        JsonNode pct = pm.get("scorePercentiles");
        double score = pct != null && pct.has("50.0") ? pct.get("50.0").asDouble() : pm.get("score").asDouble();
        double error = pm.get("scoreError").isNumber() ? pm.get("scoreError").asDouble() : Double.NaN;
        String unit = pm.get("scoreUnit").asText();
        double ns;
        double nsErr;
        if (mode.equals("thrpt")) {
            // ops per time unit over all threads: per-thread ns/op = threads / throughput
            double perNs = score / unitNanos(unit.substring(unit.indexOf('/') + 1));
            ns = threads / perNs;
            nsErr = Double.isNaN(error) ? Double.NaN : ns * error / score;
        } else {
            double f = unitNanos(unit.substring(0, unit.indexOf('/')));
            ns = score * f;
            nsErr = error * f;
        }
        return new JmhResult(cls, method, threads, params, ns, nsErr);
    }

    private static double unitNanos(String unit) {
        return switch (unit) {
            case "ns" -> 1;
            case "us" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "min" -> 60e9;
            default -> throw new IllegalArgumentException("unknown time unit " + unit);
        };
    }

    static String formatNs(double ns) {
        if (Double.isNaN(ns)) {
            return "n/a";
        }
        if (ns < 1_000) {
            return String.format(java.util.Locale.ROOT, "%.0f ns", ns);
        }
        if (ns < 1_000_000) {
            return String.format(java.util.Locale.ROOT, ns < 10_000 ? "%.2f µs" : "%.1f µs", ns / 1e3);
        }
        if (ns < 1e9) {
            return String.format(java.util.Locale.ROOT, ns < 1e7 ? "%.2f ms" : "%.1f ms", ns / 1e6);
        }
        return String.format(java.util.Locale.ROOT, "%.2f s", ns / 1e9);
    }
}
