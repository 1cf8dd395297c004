package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "delete", description = "Deletes the token with this id (exit code 1 when absent).")
final class DeleteCommand extends StoreCommand {
    @Parameters(paramLabel = "ID", description = "The token's id.")
    String id;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        IdArgument.check(id, spec);
        Render r = root.render();
        try (TokenVault vault = openStore()) {
            vault.deleteToken(id);
        }
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("deleted", id);
            r.json(doc);
        } else {
            r.out.println("deleted token " + Text.safe(id));
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
