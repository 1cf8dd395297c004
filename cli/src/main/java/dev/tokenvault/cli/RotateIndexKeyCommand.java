package dev.tokenvault.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "rotate-index-key", description = {
    "Replaces the index key with a new random one and rebuilds every blind index under it, atomically: for an "
            + "index key that may have leaked.",
    "Other work on the store goes on meanwhile. Exit code 3 when a record fails authentication or two records "
            + "share a value (the store is unchanged; run repair)."})
final class RotateIndexKeyCommand extends MaintenanceCommand {
    @Override
    public Integer call() {
        Render r = root.render();
        long records = runOnStore("rotate-index-key", vault -> {
            vault.rotateIndexKey();
            return vault.stats().records();
        });
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("rotated", "indexKey");
            doc.put("recordsIndexed", records);
            r.json(doc);
        } else {
            r.out.println("the index of " + records + " record(s) is now keyed with a new index key");
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
