package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.util.function.Function;

/**
 * A long maintenance call on the store (verify, compact, repair, reseal, rotate-index-key). The library reports no
 * progress for these, so a terminal shows how long the call has been working; piped output and {@code --json} show
 * nothing.
 */
abstract class MaintenanceCommand extends StoreCommand {
    /** Opens the store, runs {@code call} with the working line on a terminal, closes the store. */
    <T> T runOnStore(String name, Function<TokenVault, T> call) {
        try (TokenVault vault = openStore();
             Progress.Ticker ticker = Progress.of(io(), root.json, name).ticking()) {
            return call.apply(vault);
        }
    }
}
