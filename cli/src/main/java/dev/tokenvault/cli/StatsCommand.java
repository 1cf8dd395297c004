package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import dev.tokenvault.VaultStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;

@Command(name = "stats", description = "Shows the number of records and, per data key version, its records and seals.")
final class StatsCommand extends StoreCommand {
    @Override
    public Integer call() {
        Render r = root.render();
        VaultStats s;
        try (TokenVault vault = openStore()) {
            s = vault.stats();
        }
        Path path = root.storePath();
        long bytes;
        try {
            bytes = Files.size(path);
        } catch (IOException e) {
            bytes = -1;
        }
        Map<String, Long> seals = new TreeMap<>();
        s.sealsPerKeyVersion().forEach((k, v) -> seals.put(Integer.toString(k), v));
        Map<String, Long> records = new TreeMap<>();
        s.recordsPerKeyVersion().forEach((k, v) -> records.put(Integer.toString(k), v));
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("store", path.toString());
            doc.put("fileBytes", bytes);
            doc.put("records", s.records());
            doc.put("currentKeyVersion", s.currentKeyVersion());
            doc.put("sealsPerKeyVersion", seals);
            doc.put("recordsPerKeyVersion", records);
            r.json(doc);
        } else {
            r.out.println("store:               " + path + (bytes >= 0 ? " (" + bytes + " bytes)" : ""));
            r.out.println("records:             " + s.records());
            r.out.println("current key version: " + s.currentKeyVersion());
            r.out.println();
            java.util.TreeSet<Integer> versions = new java.util.TreeSet<>(s.sealsPerKeyVersion().keySet());
            versions.addAll(s.recordsPerKeyVersion().keySet());
            java.util.List<java.util.List<String>> rows = new java.util.ArrayList<>();
            for (Integer v : versions) {
                rows.add(java.util.List.of(v + (v == s.currentKeyVersion() ? " (current)" : ""),
                        String.format(java.util.Locale.ROOT, "%,d", s.recordsPerKeyVersion().getOrDefault(v, 0L)),
                        String.format(java.util.Locale.ROOT, "%,d", s.sealsPerKeyVersion().getOrDefault(v, 0L))));
            }
            r.table(java.util.List.of("DATA KEY VERSION", "RECORDS", "SEALS"), rows);
            r.out.println();
            r.out.println("records: sealed under that version now; seals: encryptions it has made (at most 2^30, "
                    + "then a new version starts). After rotate-data-key, reseal moves every record to the current "
                    + "version.");
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
