package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import dev.tokenvault.VaultStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import picocli.CommandLine.Command;

@Command(name = "stats", description = "Shows the number of records and, per data key version, its records and seals.")
final class StatsCommand extends StoreCommand {
    @Override
    boolean readsOnly() {
        return true;
    }

    @Override
    public Integer call() {
        Render r = root.render();
        VaultStats s;
        try (TokenVault vault = openStore()) {
            s = vault.stats();
        }
        StoreLocation where = root.storeLocation();
        long bytes = where.isDatabase() ? -1 : CompactCommand.size(where.file("stats", ""));
        Map<String, Long> seals = new TreeMap<>();
        s.sealsPerKeyVersion().forEach((k, v) -> seals.put(Integer.toString(k), v));
        Map<String, Long> records = new TreeMap<>();
        s.recordsPerKeyVersion().forEach((k, v) -> records.put(Integer.toString(k), v));
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("store", where.display());
            if (!where.isDatabase()) {
                doc.put("fileBytes", bytes);
            }
            doc.put("records", s.records());
            doc.put("currentKeyVersion", s.currentKeyVersion());
            doc.put("sealsPerKeyVersion", seals);
            doc.put("recordsPerKeyVersion", records);
            r.json(doc);
        } else {
            r.out.println("store:               " + where.display() + (bytes >= 0 ? " (" + bytes + " bytes)" : ""));
            r.out.println("records:             " + s.records());
            r.out.println("current key version: " + s.currentKeyVersion());
            r.out.println();
            TreeSet<Integer> versions = new TreeSet<>(s.sealsPerKeyVersion().keySet());
            versions.addAll(s.recordsPerKeyVersion().keySet());
            List<List<String>> rows = new ArrayList<>();
            for (Integer v : versions) {
                rows.add(List.of(v + (v == s.currentKeyVersion() ? " (current)" : ""),
                        String.format(Locale.ROOT, "%,d", s.recordsPerKeyVersion().getOrDefault(v, 0L)),
                        String.format(Locale.ROOT, "%,d", s.sealsPerKeyVersion().getOrDefault(v, 0L))));
            }
            r.table(List.of("DATA KEY VERSION", "RECORDS", "SEALS"), rows);
            r.out.println();
            r.out.println("records: sealed under that version now; seals: encryptions it has made (at most 2^30, "
                    + "then a new version starts). After rotate-data-key, reseal moves every record to the current "
                    + "version.");
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
