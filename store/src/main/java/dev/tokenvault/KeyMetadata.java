package dev.tokenvault;

import dev.tokenvault.crypto.KeyCheck;
import dev.tokenvault.crypto.KeyHierarchy;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.SealCount;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.AEADBadTagException;

/**
 * How the keys are stored in the engine's metadata: the header, the key check of the master key, the wrapped keyring
 * and one authenticated seal count per data key version. Reads and writes these entries and nothing else; it keeps no
 * state. Called by {@link KeyUnlock}, {@link KeyState} and {@link KeyRotation}, under the locks their callers hold.
 */
final class KeyMetadata {
    static final String META_HEADER = "header";
    static final String META_KEY_CHECK = "keycheck";
    static final String META_KEYRING = "keyring";
    static final String META_SEALS = "seals.";

    private KeyMetadata() {
    }

    /** Whether the store holds nothing at all: no record, keyring, key check, seal count or index entry. */
    static boolean isBlank(RecordEngine engine) {
        if (engine.size() != 0 || engine.getMeta(META_KEYRING) != null || engine.getMeta(META_KEY_CHECK) != null
                || engine.getMeta(META_SEALS + 1) != null) {
            return false;
        }
        boolean[] entries = new boolean[1];
        for (Field f : Field.INDEXED) {
            engine.forEachIndexEntry(f.index, (key, id) -> entries[0] = true);
        }
        return !entries[0];
    }

    /** The stored keyring, unwrapped with {@code wrapKey}; the caller owns it. */
    static Keyring unwrapKeyring(RecordEngine engine, SecretBytes wrapKey, StoreHeader header, String where) {
        try {
            return Keyring.unwrap(engine.getMeta(META_KEYRING), wrapKey, header.storeId);
        } catch (AEADBadTagException e) {
            throw new TokenStoreException(ErrorCode.CORRUPT, "the keyring of " + where + " fails authentication");
        }
    }

    /** Adds the header, key check and wrapped keyring for the keys {@code kh} to {@code batch}. */
    static void putKeyMeta(Batch batch, StoreHeader header, Keyring keyring, KeyHierarchy kh, SecureRandom random) {
        byte[] bytes = header.encode();
        batch.putMeta(META_HEADER, bytes)
                .putMeta(META_KEY_CHECK, KeyCheck.compute(kh.headerMacKey(), bytes))
                .putMeta(META_KEYRING, keyring.wrap(kh.wrapKey(), header.storeId, random));
    }

    /** The key check that {@code batch} puts. */
    static byte[] keyCheckIn(Batch batch) {
        for (Batch.Op op : batch.ops()) {
            if (op instanceof Batch.PutMeta p && p.key().equals(META_KEY_CHECK)) {
                return p.value();
            }
        }
        throw new IllegalStateException("no key check in the batch");
    }

    /**
     * The stored seal count of every version of {@code keyring}. A count that is missing or fails authentication
     * counts as exhausted ({@code sealLimit}), never as 0: the next seal then begins a new data key version instead of
     * stretching a budget that someone who can write the file tried to reset.
     */
    static Map<Integer, Long> readSeals(RecordEngine engine, SealCount sealCount, Keyring keyring, long sealLimit) {
        Map<Integer, Long> seals = new HashMap<>();
        for (Integer version : keyring.dataKeys().keySet()) {
            long count = sealCount.decode(version, engine.getMeta(META_SEALS + version));
            seals.put(version, count < 0 ? sealLimit : count);
        }
        return seals;
    }

    /**
     * The metadata keys of a store whose data key versions are {@code versions}: the header, key check, wrapped keyring
     * and the seal count of every version up to the newest, removed ones included (they may be absent), which the open
     * checks the keyring against. With the records and index entries they are the whole store, which is what
     * {@link StoreCopy} moves.
     */
    static List<String> metadataKeys(Collection<Integer> versions) {
        List<String> out = new ArrayList<>(List.of(META_HEADER, META_KEY_CHECK, META_KEYRING));
        for (int version = 1; version <= Collections.max(versions); version++) {
            out.add(META_SEALS + version);
        }
        return out;
    }
}
