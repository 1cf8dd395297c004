package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "purge", description = "Deletes every token, in one atomic change. Needs --yes.")
final class PurgeCommand extends StoreCommand {
    @Option(names = "--yes", description = "Confirm: delete every token in the store.")
    boolean yes;

    @Override
    public Integer call() {
        if (!yes) {
            throw CliException.usage("purge deletes every token in " + root.storeName() + "; add --yes to confirm");
        }
        Render r = root.render();
        long count;
        try (TokenVault vault = openStore()) {
            count = vault.stats().records();
            vault.deleteTokens();
        }
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("deleted", count);
            r.json(doc);
        } else {
            r.out.println("deleted " + count + (count == 1 ? " token" : " tokens") + " from " + root.storeName());
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
