package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "rotate-data-key", description = {
    "Adds a data key version that seals every record written from now on; older records stay readable under "
            + "their own version."})
final class RotateDataKeyCommand extends StoreCommand {
    @Override
    public Integer call() {
        Render r = root.render();
        int version;
        try (TokenVault vault = openStore()) {
            vault.rotateDataKey();
            version = vault.stats().currentKeyVersion();
        }
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("rotated", "dataKey");
            doc.put("currentKeyVersion", version);
            r.json(doc);
        } else {
            r.out.println("new records are now sealed under data key version " + version);
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
