package dev.tokenvault.bench.chart;

import java.util.List;
import java.util.Locale;

/**
 * The lookup targets of issue 12, from {@code FindTokenBenchmark.singleThread} in one run: a cache hit (by user name
 * and by id) reaches at least a third of the throughput of {@code map-copy}; a cache-off lookup on every path takes at
 * most 5 µs at the largest size, at least 2× tuned SQLite, and at most 1.5× its time at the smallest size.
 */
final class LookupTargets {
    private static final String FIND = "FindToken";
    private static final String SINGLE = "singleThread";

    private LookupTargets() {
    }

    static void append(List<JmhResult> rs, StringBuilder out) {
        List<Long> sizes = rs.stream().filter(r -> r.subject().equals(FIND) && r.param("tokens") != null)
                .map(r -> Long.parseLong(r.param("tokens"))).distinct().sorted().toList();
        if (sizes.isEmpty()) {
            return;
        }
        String small = sizes.get(0).toString();
        String big = sizes.get(sizes.size() - 1).toString();
        out.append("#### Lookup targets of issue 12 (1 thread)\n\n");
        out.append("| target | measured | verdict |\n| --- | --- | --- |\n");
        for (Long size : sizes) {
            for (String path : List.of("userName", "id")) {
                JmhResult tv = ResultTable.find(rs, FIND, SINGLE, "tokenvault", path, size.toString());
                JmhResult copy = ResultTable.find(rs, FIND, SINGLE, "map-copy", path, size.toString());
                if (tv != null && copy != null) {
                    double f = copy.nsPerOp() / tv.nsPerOp();
                    ResultTable.row(out, String.format(Locale.ROOT, "cache hit by %s ≥ 1/3 of map-copy (%,d tokens)",
                            path, size), String.format(Locale.ROOT, "%s vs map-copy %s: %.2f",
                            JmhResult.formatNs(tv.nsPerOp()), JmhResult.formatNs(copy.nsPerOp()), f), f >= 1.0 / 3);
                }
            }
        }
        for (String path : SvgChart.PATH_ORDER) {
            JmhResult nc = ResultTable.find(rs, FIND, SINGLE, "tokenvault-nocache", path, big);
            if (nc == null) {
                continue;
            }
            ResultTable.row(out, "cache off, " + path + ": ≤ 5 µs (" + big + " tokens)",
                    JmhResult.formatNs(nc.nsPerOp()), nc.nsPerOp() <= 5000);
            JmhResult tuned = ResultTable.find(rs, FIND, SINGLE, "tuned-sqlite", path, big);
            if (tuned != null) {
                double f = tuned.nsPerOp() / nc.nsPerOp();
                ResultTable.row(out, "cache off, " + path + ": ≥ 2× tuned-sqlite", String.format(Locale.ROOT,
                        "%s× (tuned-sqlite %s)", ResultTable.fmtRatio(f), JmhResult.formatNs(tuned.nsPerOp())), f >= 2);
            }
            JmhResult ncSmall = ResultTable.find(rs, FIND, SINGLE, "tokenvault-nocache", path, small);
            if (ncSmall != null && !small.equals(big)) {
                double f = nc.nsPerOp() / ncSmall.nsPerOp();
                ResultTable.row(out, "cache off, " + path + ": " + big + " ÷ " + small + " ≤ 1.5",
                        String.format(Locale.ROOT, "%.2f (%s vs %s)", f, JmhResult.formatNs(nc.nsPerOp()),
                                JmhResult.formatNs(ncSmall.nsPerOp())), f <= 1.5);
            }
        }
        out.append('\n');
    }
}
