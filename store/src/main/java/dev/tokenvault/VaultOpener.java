package dev.tokenvault;

import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.jdbc.JdbcEngine;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.security.SecureRandom;
import java.util.regex.Pattern;

/**
 * What {@link TokenVault.Builder#open()} does: checks that the settings fit together, opens the engine they name,
 * unlocks the keys, and puts the parts together. On any failure the engine it opened is closed again.
 */
final class VaultOpener {
    /** The table prefix of a shared store when the builder names none. */
    static final String DEFAULT_TABLE_PREFIX = "tokenvault";
    /** The rule a table prefix follows: the engine's ({@code JdbcEngine.PREFIX}), checked when the builder is set. */
    static final Pattern TABLE_PREFIX = JdbcEngine.PREFIX;

    private VaultOpener() {
    }

    static TokenVault open(TokenVault.Builder b) {
        int stores = (b.path != null ? 1 : 0) + (b.inMemory ? 1 : 0) + (b.dataSource != null ? 1 : 0);
        if (stores > 1) {
            throw Errors.invalid(b.dataSource != null ? "set either dataSource, path or inMemory, not more than one"
                    : "set either path or inMemory, not both");
        }
        if (stores == 0) {
            throw Errors.invalid("a path, inMemory() or dataSource is required");
        }
        if (b.tablePrefix != null && b.dataSource == null) {
            throw Errors.invalid("tablePrefix needs a dataSource: it names the shared store's tables");
        }
        if (b.masterKey == null) {
            throw Errors.invalid("masterKey is required");
        }
        if (b.masterKey.isDestroyed()) {
            throw Errors.invalid("masterKey was destroyed");
        }
        if (b.readOnly && b.inMemory) {
            throw Errors.invalid("readOnly() needs a path: an in-memory store starts empty, with nothing to read");
        }
        if (b.readOnly && b.refreshSingleFlight != null) {
            throw Errors.invalid("refreshSingleFlight needs a writable store: with readOnly() no refreshed token can"
                    + " be saved, so every lease would run out");
        }
        RecordEngine engine;
        String prefix = b.tablePrefix == null ? DEFAULT_TABLE_PREFIX : b.tablePrefix;
        try {
            engine = b.engineWrapper.apply(b.dataSource != null ? JdbcEngine.open(b.dataSource, prefix)
                    : b.inMemory ? MapDbEngine.inMemory(Field.INDEXED.length, b.probe)
                    : b.readOnly ? MapDbEngine.openReadOnly(b.path, Field.INDEXED.length)
                    : MapDbEngine.open(b.path, Field.INDEXED.length, b.createIfMissing, b.probe));
        } catch (EngineException e) {
            throw Errors.translate(e);
        }
        String where = b.dataSource != null ? "shared store " + prefix
                : b.inMemory ? "in-memory store" : b.path.toString();
        SecureRandom random = new SecureRandom();
        try {
            // nodes opening an empty shared store at once: the first initialises it, the others open what it wrote
            KeyState keyState = engine.exclusively(
                    () -> KeyState.unlock(engine, b.masterKey, where, b.sealLimit, random, b.readOnly));
            return new TokenVault(engine, new OpenState(where), keyState, random, b);
        } catch (RuntimeException e) {
            try {
                engine.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e instanceof EngineException ee ? Errors.translate(ee) : e;
        }
    }
}
