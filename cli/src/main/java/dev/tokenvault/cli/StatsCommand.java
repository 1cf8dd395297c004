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

@Command(name = "stats", description = "Shows the number of records, the data key versions and their seal counts.")
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
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("store", path.toString());
            doc.put("fileBytes", bytes);
            doc.put("records", s.records());
            doc.put("currentKeyVersion", s.currentKeyVersion());
            doc.put("sealsPerKeyVersion", seals);
            r.json(doc);
        } else {
            r.out.println("store:               " + path + (bytes >= 0 ? " (" + bytes + " bytes)" : ""));
            r.out.println("records:             " + s.records());
            r.out.println("current key version: " + s.currentKeyVersion());
            r.out.println("seals per version:   " + seals
                    + "  (a data key seals at most 2^30 times; a new version starts then)");
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
