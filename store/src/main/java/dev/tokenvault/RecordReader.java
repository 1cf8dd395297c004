package dev.tokenvault;

import dev.tokenvault.crypto.RecordSeal;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.crypto.AEADBadTagException;

/**
 * Reads records from the engine and opens them: by id, or by an indexed value through its blind index. A record
 * that fails authentication, an index entry naming a record that does not exist, and an index entry whose record
 * does not hold the value are {@code INTEGRITY} failures, never guessed at.
 */
final class RecordReader implements Selection.Reader {
    /** Busy-wait this many times for a vault's keys to follow an index generation switch before parking. */
    private static final int SPINS_BEFORE_PARKING = 100;
    /** How long a lookup waits for the keys to follow a switch before it reports the vault stuck. */
    private static final long GENERATION_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** One park between looks while waiting for the keys: short, as a switch publishes them right after staging. */
    private static final long PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    private final RecordEngine engine;
    private final KeyState keyState;
    private final OpenState state;

    RecordReader(RecordEngine engine, KeyState keyState, OpenState state) {
        this.engine = engine;
        this.keyState = keyState;
        this.state = state;
    }

    /** The record whose {@code field} is {@code value}, or {@code null}; read from the store (no cache). */
    @Override
    public TokenRecord find(Field field, String value) {
        try {
            Keys k = keyState.current();
            if (field == Field.ID) {
                return byId(k, value, null);
            }
            RecordEngine.Entry entry = indexLookup(field, value);
            return entry == null ? null : fromIndex(k, field, value, entry, null);
        } catch (EngineException e) {
            throw Errors.translate(e);
        }
    }

    /**
     * Reads the index entry of {@code value} with the current blind index. An index-key rotation or repair switches
     * the engine's generation and then this vault's keys; a lookup that falls between the two waits for the keys.
     */
    private RecordEngine.Entry indexLookup(Field field, String value) {
        long deadline = 0;
        for (int spins = 0; ; spins++) {
            Keys k = keyState.current();
            RecordEngine.Entry entry = engine.getByIndex(k.indexGeneration(), field.index, k.blindKey(field, value));
            if (entry != RecordEngine.GENERATION_CHANGED) {
                return entry;
            }
            state.check();
            if (spins < SPINS_BEFORE_PARKING) {
                Thread.onSpinWait();
                continue;
            }
            if (deadline == 0) {
                deadline = System.nanoTime() + GENERATION_WAIT_NANOS;
            } else if (System.nanoTime() - deadline > 0) {
                throw new TokenStoreException(ErrorCode.IO, "the index of " + state.where()
                        + " changed generation and this vault's keys did not follow");
            }
            LockSupport.parkNanos(this, PARK_NANOS);
        }
    }

    /**
     * One read of the entry of {@code blindKey} in index generation {@code k.indexGeneration()}; may return
     * {@link RecordEngine#GENERATION_CHANGED}. For a writer, whose keys cannot change under the write lock.
     */
    RecordEngine.Entry entry(Keys k, Field field, byte[] blindKey) {
        return Errors.call(() -> engine.getByIndex(k.indexGeneration(), field.index, blindKey));
    }

    /**
     * The record with this id, or {@code null}. {@code opened} (may be null) holds records this caller opened
     * already, by id; what this opens is added to it.
     */
    TokenRecord byId(Keys k, String id, Map<String, TokenRecord> opened) {
        if (opened != null && opened.containsKey(id)) {
            return opened.get(id);
        }
        byte[] sealed = Errors.call(() -> engine.get(id));
        TokenRecord r = sealed == null ? null : open(k, id, sealed);
        if (opened != null) {
            opened.put(id, r);
        }
        return r;
    }

    /**
     * The record an index entry for {@code value} names, checked to exist and to hold the value. {@code opened} as in
     * {@link #byId}.
     */
    TokenRecord fromIndex(Keys k, Field field, String value, RecordEngine.Entry entry,
                          Map<String, TokenRecord> opened) {
        if (entry.sealed() == null) {
            throw new TokenStoreException(ErrorCode.INTEGRITY, "the " + field.label
                    + " index names record " + entry.id() + ", which does not exist");
        }
        TokenRecord r = opened == null ? null : opened.get(entry.id());
        if (r == null) {
            r = open(k, entry.id(), entry.sealed());
            if (opened != null) {
                opened.put(entry.id(), r);
            }
        }
        if (!value.equals(r.get(field))) {
            throw new TokenStoreException(ErrorCode.INTEGRITY, "the " + field.label + " index entry for record "
                    + entry.id() + " does not match the record");
        }
        return r;
    }

    /**
     * Opens a sealed record stored under {@code id} with the keys {@code k}, or with the current keys for a data key
     * version made after the caller read {@code k} (a rotation or a seal-limit rollover).
     *
     * @throws TokenStoreException {@code INTEGRITY} when it fails authentication or is not the record of {@code id}
     */
    TokenRecord open(Keys k, String id, byte[] sealed) {
        try {
            int version = RecordSeal.keyVersion(sealed);
            SecretBytes dataKey = k.keyring().dataKey(version);
            if (dataKey == null) {
                dataKey = keyState.current().keyring().dataKey(version);
            }
            if (dataKey == null) {
                dataKey = keyState.learnedDataKey(version); // on a shared store, another node's new version
            }
            if (dataKey == null) {
                throw new AEADBadTagException("unknown key version");
            }
            TokenRecord r = TokenRecord.decode(RecordSeal.open(sealed, dataKey, k.storeId(), id));
            if (r == null || !id.equals(r.id())) {
                throw new AEADBadTagException("record plaintext malformed");
            }
            return r;
        } catch (AEADBadTagException e) {
            throw new TokenStoreException(ErrorCode.INTEGRITY, "record " + id + " fails authentication");
        }
    }

    /**
     * Every record, opened, as tokens.
     *
     * @throws TokenStoreException {@code CORRUPT} when the records map lists a record twice (its structure is damaged)
     */
    List<OAuthToken> allTokens() {
        Keys k = keyState.current();
        List<OAuthToken> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        Errors.run(() -> engine.forEachRecord((id, sealed) -> {
            if (!seen.add(id)) {
                throw listedTwice(id);
            }
            out.add(open(k, id, sealed).toToken());
        }));
        return out;
    }

    /** A hash map that yields a key twice: a damaged node repeats a leaf. The data is right, the structure is not. */
    private TokenStoreException listedTwice(String id) {
        return new TokenStoreException(ErrorCode.CORRUPT, "the records map of " + state.where() + " lists record " + id
                + " twice: the file's structure is damaged (compact() rewrites it)");
    }

    /** The data key version a sealed record names, or -1 when its header is malformed. */
    static int versionOf(byte[] sealed) {
        try {
            return RecordSeal.keyVersion(sealed);
        } catch (AEADBadTagException e) {
            return -1;
        }
    }
}
