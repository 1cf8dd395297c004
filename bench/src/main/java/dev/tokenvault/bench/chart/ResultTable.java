package dev.tokenvault.bench.chart;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Turns a JMH JSON result into the markdown tables of {@code bench/README.md}: one pivot table per benchmark method
 * (a row per parameter combination, a column per store, with ratios against the baselines), then the targets of
 * issue 3 and the lookup targets of issue 12 ({@link LookupTargets}), each with its measured figure and MET or MISSED.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.tokenvault.bench.chart.ResultTable results.json</pre>
 */
public final class ResultTable {
    private ResultTable() {
    }

    public static void main(String[] args) throws IOException {
        List<JmhResult> results = JmhResult.read(Path.of(args[0]));
        StringBuilder out = new StringBuilder();
        tables(results, out);
        targets(results, out);
        LookupTargets.append(results, out);
        System.out.print(out);
    }

    private static void tables(List<JmhResult> results, StringBuilder out) {
        Map<String, List<JmhResult>> byMethod = new LinkedHashMap<>();
        List<JmhResult> sorted = new ArrayList<>(results);
        sorted.sort(SvgChart.order());
        for (JmhResult r : sorted) {
            String subject = r.family();
            String key = r.param("store") == null ? subject + " (" + r.threads() + " thread"
                    + (r.threads() > 1 ? "s" : "") + ")"
                    : subject + "." + r.method() + " (" + r.threads() + " thread" + (r.threads() > 1 ? "s" : "") + ")";
            byMethod.computeIfAbsent(key, k -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<String, List<JmhResult>> m : byMethod.entrySet()) {
            List<JmhResult> rs = m.getValue();
            out.append("#### ").append(m.getKey()).append("\n\n");
            if (rs.get(0).param("store") == null) {
                out.append("| benchmark | time per op | ± error |\n| --- | ---: | ---: |\n");
                for (JmhResult r : rs) {
                    out.append("| ").append(r.method()).append(" | ").append(JmhResult.formatNs(r.nsPerOp()))
                            .append(" | ").append(JmhResult.formatNs(r.nsError())).append(" |\n");
                }
                out.append('\n');
                continue;
            }
            List<String> stores = rs.stream().map(SvgChart::series).distinct()
                    .sorted(java.util.Comparator.comparingInt(s -> SvgChart.rank(SvgChart.STORE_ORDER, s))).toList();
            Map<String, Map<String, JmhResult>> rows = new LinkedHashMap<>();
            for (JmhResult r : rs) {
                rows.computeIfAbsent(SvgChart.group(r, false), k -> new LinkedHashMap<>()).put(SvgChart.series(r), r);
            }
            List<String[]> ratios = new ArrayList<>();
            if (stores.contains("tokenvault") && stores.contains("map-copy")) {
                ratios.add(new String[] {"map-copy", "tokenvault", "tokenvault ÷ map-copy (throughput)"});
            }
            if (stores.contains("tokenvault") && stores.contains("map")) {
                ratios.add(new String[] {"map", "tokenvault", "tokenvault ÷ map (throughput)"});
            }
            if (stores.contains("tokenvault") && stores.contains("tuned-sqlite")) {
                ratios.add(new String[] {"tuned-sqlite", "tokenvault", "tokenvault vs tuned-sqlite"});
            }
            if (stores.contains("tokenvault-nocache") && stores.contains("tuned-sqlite")) {
                ratios.add(new String[] {"tuned-sqlite", "tokenvault-nocache", "nocache vs tuned-sqlite"});
            }
            if (stores.contains("tokenvault") && stores.contains("seed-sqlite")) {
                ratios.add(new String[] {"seed-sqlite", "tokenvault", "tokenvault vs seed-sqlite"});
            }
            out.append("| ").append(rs.get(0).param("path") != null ? "tokens · path" : "tokens");
            for (String s : stores) {
                out.append(" | ").append(s);
            }
            for (String[] r : ratios) {
                out.append(" | ").append(r[2]);
            }
            out.append(" |\n| ---");
            out.append(" | ---:".repeat(stores.size() + ratios.size())).append(" |\n");
            for (Map.Entry<String, Map<String, JmhResult>> row : rows.entrySet()) {
                out.append("| ").append(row.getKey());
                for (String s : stores) {
                    JmhResult r = row.getValue().get(s);
                    out.append(" | ").append(r == null ? "–" : JmhResult.formatNs(r.nsPerOp())
                            + (Double.isNaN(r.nsError()) ? "" : " ± " + JmhResult.formatNs(r.nsError())));
                }
                for (String[] ratio : ratios) {
                    JmhResult base = row.getValue().get(ratio[0]);
                    JmhResult ours = row.getValue().get(ratio[1]);
                    out.append(" | ").append(base == null || ours == null ? "–"
                            : String.format(Locale.ROOT, "%s×", fmtRatio(base.nsPerOp() / ours.nsPerOp())));
                }
                out.append(" |\n");
            }
            out.append('\n');
        }
    }

    static String fmtRatio(double x) {
        return x >= 100 ? String.format(Locale.ROOT, "%,.0f", x)
                : x >= 10 ? String.format(Locale.ROOT, "%.1f", x) : String.format(Locale.ROOT, "%.2f", x);
    }

    static JmhResult find(List<JmhResult> rs, String subject, String method, String store, String path,
                                  String tokens) {
        for (JmhResult r : rs) {
            if (r.family().equals(subject) && r.method().equals(method) && Objects.equals(store, r.param("store"))
                    && (path == null || path.equals(r.param("path")))
                    && (tokens == null || tokens.equals(r.param("tokens")))) {
                return r;
            }
        }
        return null;
    }

    private static void targets(List<JmhResult> rs, StringBuilder out) {
        out.append("#### Targets of issue 3 (single thread unless stated)\n\n");
        out.append("| target | measured | verdict |\n| --- | --- | --- |\n");
        String big = rs.stream().filter(r -> r.subject().equals("FindToken") && r.param("tokens") != null)
                .map(r -> r.param("tokens")).max((a, b) -> Long.compare(Long.parseLong(a), Long.parseLong(b)))
                .orElse(null);
        String small = rs.stream().filter(r -> r.subject().equals("FindToken") && r.param("tokens") != null)
                .map(r -> r.param("tokens")).min((a, b) -> Long.compare(Long.parseLong(a), Long.parseLong(b)))
                .orElse(null);
        if (big != null) {
            JmhResult tv = find(rs, "FindToken", "singleThread", "tokenvault", "userName", big);
            JmhResult map = find(rs, "FindToken", "singleThread", "map", "userName", big);
            JmhResult tuned = find(rs, "FindToken", "singleThread", "tuned-sqlite", "userName", big);
            if (tv != null && map != null) {
                double f = map.nsPerOp() / tv.nsPerOp();
                row(out, "cache hit by userName ≥ 1/3 of map throughput (" + big + " tokens)",
                        String.format(Locale.ROOT, "%s vs map %s: %.2f of map", JmhResult.formatNs(tv.nsPerOp()),
                                JmhResult.formatNs(map.nsPerOp()), f), f >= 1.0 / 3);
                row(out, "cache hit by userName under 100 ns (aim)", JmhResult.formatNs(tv.nsPerOp()),
                        tv.nsPerOp() < 100);
            }
            if (tv != null && tuned != null) {
                double f = tuned.nsPerOp() / tv.nsPerOp();
                row(out, "cache hit by userName ≥ 100× tuned-sqlite",
                        String.format(Locale.ROOT, "%s×", fmtRatio(f)), f >= 100);
            }
            for (String path : SvgChart.PATH_ORDER) {
                JmhResult nc = find(rs, "FindToken", "singleThread", "tokenvault-nocache", path, big);
                JmhResult ncSmall = find(rs, "FindToken", "singleThread", "tokenvault-nocache", path, small);
                JmhResult tu = find(rs, "FindToken", "singleThread", "tuned-sqlite", path, big);
                if (nc == null) {
                    continue;
                }
                row(out, "cache off, " + path + ": ≤ 5 µs/op", JmhResult.formatNs(nc.nsPerOp()),
                        nc.nsPerOp() <= 5000);
                if (tu != null) {
                    double f = tu.nsPerOp() / nc.nsPerOp();
                    row(out, "cache off, " + path + ": ≥ tuned-sqlite (aim 2×)",
                            String.format(Locale.ROOT, "%s× (tuned-sqlite %s)", fmtRatio(f),
                                    JmhResult.formatNs(tu.nsPerOp())), f >= 1);
                }
                if (ncSmall != null && !small.equals(big)) {
                    double f = nc.nsPerOp() / ncSmall.nsPerOp();
                    row(out, "cache off, " + path + ": time at " + big + " ÷ at " + small + " ≤ 2",
                            String.format(Locale.ROOT, "%.2f (%s vs %s)", f, JmhResult.formatNs(nc.nsPerOp()),
                                    JmhResult.formatNs(ncSmall.nsPerOp())), f <= 2);
                }
            }
        }
        List<String> saveSizes = rs.stream().filter(r -> r.family().equals("SaveToken") && r.param("tokens") != null)
                .map(r -> r.param("tokens")).distinct().sorted(Comparator.comparingLong(Long::parseLong)).toList();
        for (String n : saveSizes) {
            saveTargets(rs, n, out);
        }
        out.append('\n');
    }

    /** The save targets at {@code tokens}: issue 3's (1 thread against SQLite, 8 threads against 1) and issue 12's. */
    private static void saveTargets(List<JmhResult> rs, String tokens, StringBuilder out) {
        JmhResult s1 = find(rs, "SaveToken", "singleThread", "tokenvault", null, tokens);
        JmhResult s8 = find(rs, "SaveToken", "eightThreads", "tokenvault", null, tokens);
        JmhResult t1 = find(rs, "SaveToken", "singleThread", "tuned-sqlite", null, tokens);
        JmhResult t8 = find(rs, "SaveToken", "eightThreads", "tuned-sqlite", null, tokens);
        String at = " (" + tokens + " tokens)";
        if (s1 != null && t1 != null) {
            row(out, "durable save ≥ tuned-sqlite, 1 thread" + at, String.format(Locale.ROOT,
                    "%.0f vs %.0f saves/s", s1.opsPerSecond(), t1.opsPerSecond()),
                    s1.opsPerSecond() >= t1.opsPerSecond());
        }
        if (s8 != null && t8 != null) {
            double f = s8.opsPerSecond() / t8.opsPerSecond();
            row(out, "durable save, 8 threads ≥ 4× tuned-sqlite" + at, String.format(Locale.ROOT,
                    "%.2f× (%.0f vs %.0f saves/s)", f, s8.opsPerSecond(), t8.opsPerSecond()), f >= 4);
        }
        if (s1 != null && s8 != null) {
            double f = s8.opsPerSecond() / s1.opsPerSecond();
            row(out, "durable save, 8 threads ≥ 4× 1 thread" + at, String.format(Locale.ROOT,
                    "%.2f× (%.0f vs %.0f saves/s)", f, s8.opsPerSecond(), s1.opsPerSecond()), f >= 4);
        }
    }

    static void row(StringBuilder out, String target, String measured, boolean met) {
        out.append("| ").append(target).append(" | ").append(measured).append(" | ")
                .append(met ? "met" : "**missed**").append(" |\n");
    }
}
