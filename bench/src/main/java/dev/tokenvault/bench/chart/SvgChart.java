package dev.tokenvault.bench.chart;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns a JMH JSON result ({@code -rf json}) into a horizontal SVG bar chart: time per operation on a log scale, one
 * bar per store (or per benchmark method when there is no {@code store} parameter), grouped by the other
 * parameters. No dependencies beyond Jackson; the SVG is plain text, reviewable in a diff.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.tokenvault.bench.chart.SvgChart results.json out.svg \
 *     "title" [regex over Class.method]</pre>
 */
public final class SvgChart {
    /** Stores in a fixed order and colour, so every chart reads the same way. */
    static final List<String> STORE_ORDER = List.of("tokenvault", "tokenvault-nocache", "map", "tuned-sqlite",
            "seed-sqlite", "csv-file", "map-copy");
    private static final String[] COLOURS = {"#1b7837", "#5aae61", "#8c8c8c", "#2166ac", "#d6604d", "#b2182b",
        "#762a83", "#e08214"};
    static final List<String> PATH_ORDER = List.of("userName", "accessToken", "refreshToken", "grantToken", "id");

    private static final int BAR = 13;
    private static final int BAR_GAP = 2;
    private static final int GROUP_GAP = 12;
    private static final int LEFT = 230;
    private static final int PLOT = 560;
    private static final int RIGHT = 90;
    private static final int TOP = 64;

    private SvgChart() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: SvgChart <jmh-result.json> <out.svg> [title] [regex over Class.method]");
            System.exit(2);
        }
        List<JmhResult> results = JmhResult.read(Path.of(args[0]));
        String title = args.length > 2 ? args[2] : "JMH results";
        if (args.length > 3) {
            Pattern p = Pattern.compile(args[3]);
            results = results.stream().filter(r -> p.matcher(r.benchmarkClass() + "." + r.method()).find()).toList();
        }
        if (results.isEmpty()) {
            throw new IllegalArgumentException("no results match");
        }
        Files.writeString(Path.of(args[1]), render(results, title), StandardCharsets.UTF_8);
    }

    static String series(JmhResult r) {
        return r.param("store") != null ? r.param("store") : r.method();
    }

    static String group(JmhResult r, boolean showMethod) {
        StringBuilder sb = new StringBuilder();
        if (showMethod && r.param("store") != null) {
            sb.append(r.method()).append(" · ");
        }
        if (r.param("tokens") != null) {
            sb.append(String.format(Locale.ROOT, "%,d tokens", Long.parseLong(r.param("tokens"))));
        }
        for (Map.Entry<String, String> e : r.params().entrySet()) {
            if (!e.getKey().equals("store") && !e.getKey().equals("tokens")) {
                sb.append(sb.length() > 0 && !sb.toString().endsWith(" · ") ? " · " : "").append(e.getValue());
            }
        }
        if (sb.length() == 0) {
            sb.append(r.subject());
        }
        return sb.toString();
    }

    static Comparator<JmhResult> order() {
        return Comparator.comparing(JmhResult::family)
                .thenComparing(JmhResult::method)
                .thenComparingLong(r -> r.param("tokens") == null ? 0 : Long.parseLong(r.param("tokens")))
                .thenComparingInt(r -> rank(PATH_ORDER, r.param("path")))
                .thenComparingInt(r -> rank(STORE_ORDER, series(r)));
    }

    static int rank(List<String> order, String v) {
        int i = v == null ? -1 : order.indexOf(v);
        return i < 0 ? order.size() : i;
    }

    static String render(List<JmhResult> results, String title) {
        List<JmhResult> sorted = new ArrayList<>(results);
        sorted.sort(order());
        boolean showMethod = sorted.stream().map(JmhResult::method).distinct().count() > 1;
        Map<String, List<JmhResult>> groups = new LinkedHashMap<>();
        for (JmhResult r : sorted) {
            groups.computeIfAbsent(group(r, showMethod), k -> new ArrayList<>()).add(r);
        }
        List<String> seriesNames = sorted.stream().map(SvgChart::series).distinct()
                .sorted(Comparator.comparingInt(s -> rank(STORE_ORDER, s))).toList();
        double min = sorted.stream().mapToDouble(JmhResult::nsPerOp).min().orElse(1);
        double max = sorted.stream().mapToDouble(r -> r.nsPerOp() + (Double.isNaN(r.nsError()) ? 0 : r.nsError()))
                .max().orElse(10);
        int lo = (int) Math.floor(Math.log10(Math.max(min, 1e-3)));
        int hi = (int) Math.ceil(Math.log10(max));
        if (hi <= lo) {
            hi = lo + 1;
        }
        int legendRows = (seriesNames.size() + 3) / 4;
        int height = TOP + legendRows * 18 + 20;
        for (List<JmhResult> g : groups.values()) {
            height += g.size() * (BAR + BAR_GAP) + GROUP_GAP + 14;
        }
        height += 40;
        int width = LEFT + PLOT + RIGHT;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">%n",
                width, height, width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n",
                12, esc(title)));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"40\" fill=\"#555\">median time per operation, log scale "
                + "(shorter is faster); whiskers: 99.9%% confidence interval from JMH</text>%n", 12));
        int y = TOP - 8;
        for (int i = 0; i < seriesNames.size(); i++) {
            int lx = 12 + (i % 4) * 190;
            int ly = y + (i / 4) * 18;
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", lx, ly, colour(seriesNames.get(i)), lx + 17, ly + 10,
                    esc(seriesNames.get(i))));
        }
        int plotTop = TOP + legendRows * 18 + 16;
        int plotBottom = height - 34;
        for (int d = lo; d <= hi; d++) {
            double x = xOf(Math.pow(10, d), lo, hi);
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>%n",
                    x, plotTop - 4, x, plotBottom));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s"
                    + "</text>%n", x, plotBottom + 14, esc(tick(d))));
        }
        y = plotTop;
        for (Map.Entry<String, List<JmhResult>> g : groups.entrySet()) {
            s.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" font-weight=\"bold\">%s</text>%n", y + 10,
                    esc(g.getKey())));
            y += 14;
            for (JmhResult r : g.getValue()) {
                double x1 = xOf(r.nsPerOp(), lo, hi);
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n",
                        LEFT - 6, y + BAR - 3, esc(series(r))));
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                        + "fill=\"%s\"><title>%s: %s</title></rect>%n", LEFT, y, Math.max(1, x1 - LEFT), BAR,
                        colour(series(r)), esc(series(r)), esc(JmhResult.formatNs(r.nsPerOp()))));
                if (!Double.isNaN(r.nsError()) && r.nsError() > 0) {
                    double ea = xOf(Math.max(r.nsPerOp() - r.nsError(), Math.pow(10, lo)), lo, hi);
                    double eb = xOf(r.nsPerOp() + r.nsError(), lo, hi);
                    s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                            + "stroke=\"#222\"/>%n", ea, y + BAR / 2, eb, y + BAR / 2));
                }
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%s</text>%n",
                        Math.max(x1, xOf(r.nsPerOp() + (Double.isNaN(r.nsError()) ? 0 : r.nsError()), lo, hi)) + 4,
                        y + BAR - 3, esc(JmhResult.formatNs(r.nsPerOp()))));
                y += BAR + BAR_GAP;
            }
            y += GROUP_GAP;
        }
        s.append("</svg>\n");
        return s.toString();
    }

    /** Decade labels: 1 ns, 10 ns, 100 ns, 1 µs, ... */
    private static String tick(int decade) {
        String[] units = {"ns", "µs", "ms", "s"};
        int u = Math.max(0, Math.min(3, Math.floorDiv(decade, 3)));
        double v = Math.pow(10, decade - 3 * u);
        return (v >= 1 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", v)) + " " + units[u];
    }

    private static double xOf(double ns, int lo, int hi) {
        double v = Math.log10(Math.max(ns, Math.pow(10, lo)));
        return LEFT + (v - lo) / (hi - lo) * PLOT;
    }

    private static String colour(String series) {
        int i = STORE_ORDER.indexOf(series);
        return COLOURS[(i >= 0 ? i : Math.floorMod(series.hashCode(), COLOURS.length)) % COLOURS.length];
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
