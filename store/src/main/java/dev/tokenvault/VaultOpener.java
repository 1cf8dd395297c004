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
        checkStore(b);
        if (b.masterKey == null) {
            throw Errors.invalid("masterKey is required");
        }
        if (b.masterKey.isDestroyed()) {
            throw Errors.invalid("masterKey was destroyed");
        }
        RecordEngine engine = openEngine(b);
        String where = where(b);
        SecureRandom random = new SecureRandom();
        try {
            // A database has no file whose absence says "no store": a blank store is none. One with records, keys or
            // index entries but no header (a copy interrupted before its keys) goes on to KeyUnlock: CORRUPT.
            if (b.dataSource != null && (b.readOnly || !b.createIfMissing)
                    && engine.getMeta(KeyMetadata.META_HEADER) == null && KeyMetadata.isBlank(engine)) {
                throw new TokenStoreException(ErrorCode.NOT_FOUND, "the " + where + " holds no store yet, and "
                        + (b.readOnly ? "a readOnly() open" : "createIfMissing(false)") + " does not create one");
            }
            // nodes opening an empty shared store at once: the first initialises it, the others open what it wrote
            KeyState keyState = engine.exclusively(
                    () -> KeyUnlock.unlock(engine, b.masterKey, where, b.sealLimit, random, b.readOnly));
            return new TokenVault(engine, new OpenState(where), keyState, random, b);
        } catch (RuntimeException e) {
            throw closing(engine, e);
        }
    }

    /** Checks that the settings name exactly one store, in a mode it can be opened in. */
    static void checkStore(TokenVault.Builder b) {
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
        if (b.readOnly && b.inMemory) {
            throw Errors.invalid("readOnly() needs a path: an in-memory store starts empty, with nothing to read");
        }
        if (b.readOnly && b.refreshSingleFlight != null) {
            throw Errors.invalid("refreshSingleFlight needs a writable store: with readOnly() no refreshed token can"
                    + " be saved, so every lease would run out");
        }
    }

    /** Opens the engine the (checked) settings name: no key is needed, and none is read. */
    static RecordEngine openEngine(TokenVault.Builder b) {
        try {
            return b.engineWrapper.apply(b.dataSource != null
                    ? JdbcEngine.open(b.dataSource, prefix(b), b.createIfMissing && !b.readOnly)
                    : b.inMemory ? MapDbEngine.inMemory(Field.INDEXED.length, b.probe)
                    : b.readOnly ? MapDbEngine.openReadOnly(b.path, Field.INDEXED.length)
                    : MapDbEngine.open(b.path, Field.INDEXED.length, b.createIfMissing, b.probe));
        } catch (EngineException e) {
            throw Errors.translate(e);
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(e.getMessage()); // a shared store's pool too small for its database
        }
    }

    private static String prefix(TokenVault.Builder b) {
        return b.tablePrefix == null ? DEFAULT_TABLE_PREFIX : b.tablePrefix;
    }

    /** The store, as messages name it. */
    static String where(TokenVault.Builder b) {
        return b.dataSource != null ? "shared store " + prefix(b)
                : b.inMemory ? "in-memory store" : b.path.toString();
    }

    /** Closes {@code engine} after {@code e}; returns what the caller throws. */
    static RuntimeException closing(RecordEngine engine, RuntimeException e) {
        try {
            engine.close();
        } catch (RuntimeException suppressed) {
            e.addSuppressed(suppressed);
        }
        return e instanceof EngineException ee ? Errors.translate(ee) : e;
    }
}
