package dev.tokenvault.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "compact", description = {
    "Rewrites the store file to hold only the live data and swaps it in atomically; the file never shrinks by "
            + "itself.",
    "Blocks the store for its duration (about as long as reading it) and needs free space for a second copy."})
final class CompactCommand extends MaintenanceCommand {
    @Override
    public Integer call() {
        Render r = root.render();
        Path path = root.storePath("compact", "a database reclaims the space of changed rows itself"
                + " (OPTIMIZE TABLE on MariaDB/MySQL, VACUUM on PostgreSQL), so there is nothing for tokenvault to do");
        long before = size(path);
        runOnStore("compact", vault -> {
            vault.compact();
            return null;
        });
        long after = size(path);
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("store", path.toString());
            doc.put("bytesBefore", before);
            doc.put("bytesAfter", after);
            r.json(doc);
        } else {
            r.out.println("compacted " + path + ": " + before + " -> " + after + " bytes");
            r.out.flush();
        }
        return ExitCode.OK;
    }

    static long size(Path path) {
        try {
            return Files.size(path);
        } catch (IOException e) {
            return -1;
        }
    }
}
