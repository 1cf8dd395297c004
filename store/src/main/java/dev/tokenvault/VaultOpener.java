package dev.tokenvault;

import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.security.SecureRandom;

/**
 * What {@link TokenVault.Builder#open()} does: checks that the settings fit together, opens the engine they name,
 * unlocks the keys, and puts the parts together. On any failure the engine it opened is closed again.
 */
final class VaultOpener {
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
            KeyState keyState = KeyState.unlock(engine, b.masterKey, where, b.sealLimit, random, b.readOnly);
            return new TokenVault(engine, new OpenState(where), keyState, random, b);
        } catch (RuntimeException e) {
            throw closing(engine, e);
        }
    }

    /** Checks that the settings name exactly one store, in a mode it can be opened in. */
    static void checkStore(TokenVault.Builder b) {
        if (b.path != null && b.inMemory) {
            throw Errors.invalid("set either path or inMemory, not both");
        }
        if (b.path == null && !b.inMemory) {
            throw Errors.invalid("a path or inMemory() is required");
        }
        if (b.readOnly && b.inMemory) {
            throw Errors.invalid("readOnly() needs a path: an in-memory store starts empty, with nothing to read");
        }
    }

    /** Opens the engine the (checked) settings name: no key is needed, and none is read. */
    static RecordEngine openEngine(TokenVault.Builder b) {
        try {
            return b.engineWrapper.apply(b.inMemory ? MapDbEngine.inMemory(Field.INDEXED.length, b.probe)
                    : b.readOnly ? MapDbEngine.openReadOnly(b.path, Field.INDEXED.length)
                    : MapDbEngine.open(b.path, Field.INDEXED.length, b.createIfMissing, b.probe));
        } catch (EngineException e) {
            throw Errors.translate(e);
        }
    }

    /** The store, as messages name it. */
    static String where(TokenVault.Builder b) {
        return b.inMemory ? "in-memory store" : b.path.toString();
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
