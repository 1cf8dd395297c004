package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "get", description = "Shows every field of the token with this id (exit code 1 when absent).")
final class GetCommand extends StoreCommand {
    @Parameters(paramLabel = "ID", description = "The token's id.")
    String id;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    boolean readsOnly() {
        return true;
    }

    @Override
    public Integer call() {
        IdArgument.check(id, spec);
        Render r = root.render();
        try (TokenVault vault = openStore()) {
            OAuthToken t = vault.findTokenById(id);
            if (r.json) {
                r.json(Map.of("token", r.token(t)));
            } else {
                r.details(t);
            }
        }
        return ExitCode.OK;
    }
}
