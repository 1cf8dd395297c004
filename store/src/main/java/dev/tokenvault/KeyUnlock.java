package dev.tokenvault;

import static dev.tokenvault.KeyMetadata.META_HEADER;
import static dev.tokenvault.KeyMetadata.META_KEY_CHECK;
import static dev.tokenvault.KeyMetadata.META_SEALS;

import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.crypto.KeyCheck;
import dev.tokenvault.crypto.KeyHierarchy;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.SealCount;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import java.security.SecureRandom;
import java.util.Collections;
import java.util.Map;

/**
 * Opens the keys of a store with its master key, or initialises the keys of a blank store, and hands them to a new
 * {@link KeyState}. Called once per open, by {@link VaultOpener} inside {@link RecordEngine#exclusively} (nothing else
 * writes while a vault opens) and by {@link StoreCopy} read-only.
 */
final class KeyUnlock {
    private static final int STORE_ID_BYTES = 32;

    private final RecordEngine engine;
    private final String where;
    private final SecureRandom random;
    private final long sealLimit;

    /** The key material a store was opened with, which the new {@link KeyState} owns. */
    record Unlocked(Keys keys, byte[] keyCheck, SecretBytes wrapKey, SealCount sealCount, Map<Integer, Long> seals) { }

    private KeyUnlock(RecordEngine engine, String where, SecureRandom random, long sealLimit) {
        this.engine = engine;
        this.where = where;
        this.random = random;
        this.sealLimit = sealLimit;
    }

    /**
     * Opens the keys of the store in {@code engine} with {@code masterKey}, or initialises a blank store (unless
     * {@code readOnly}: then nothing is written, and a blank store is {@code NOT_FOUND}).
     *
     * @throws TokenStoreException {@code WRONG_KEY}, or {@code CORRUPT} for a header, keyring or seal count that was
     *         altered or put back, or a store with records but no header; {@code NOT_FOUND} for a blank store opened
     *         read-only
     */
    static KeyState unlock(RecordEngine engine, MasterKey masterKey, String where, long sealLimit,
                           SecureRandom random, boolean readOnly) {
        KeyUnlock unlock = new KeyUnlock(engine, where, random, sealLimit);
        byte[] headerBytes = engine.getMeta(META_HEADER);
        Unlocked unlocked;
        if (headerBytes == null) {
            if (!KeyMetadata.isBlank(engine)) {
                // initialising would overwrite the keyring and make every existing record unreadable for good
                throw new TokenStoreException(ErrorCode.CORRUPT, where + " has records, keys or index entries but"
                        + " no store header; it is not initialised again");
            }
            if (readOnly) {
                // a crash between creating the file and writing its keys: a store in name only, with nothing to read
                throw new TokenStoreException(ErrorCode.NOT_FOUND, where + " holds no store yet (its file was made"
                        + " but its keys were never written); a read-only open does not initialise it");
            }
            unlocked = unlock.initialise(masterKey);
        } else {
            unlocked = unlock.open(StoreHeader.decode(headerBytes, where), headerBytes, masterKey);
        }
        return new KeyState(engine, where, random, sealLimit, unlocked);
    }

    private Unlocked open(StoreHeader header, byte[] headerBytes, MasterKey masterKey) {
        Keyring keyring;
        byte[] keyCheck;
        SecretBytes wrapKey;
        try (SecretBytes master = header.masterKeyBytes(masterKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            keyCheck = engine.getMeta(META_KEY_CHECK);
            if (!KeyCheck.verify(kh.headerMacKey(), headerBytes, keyCheck)) {
                throw new TokenStoreException(ErrorCode.WRONG_KEY,
                        "the master key does not open " + where + " (wrong key, or its header was altered)");
            }
            keyring = KeyMetadata.unwrapKeyring(engine, kh.wrapKey(), header, where);
            wrapKey = kh.wrapKey().duplicate();
        }
        SealCount sealCount = new SealCount(wrapKey, header.storeId);
        int newest = Collections.max(keyring.dataKeys().keySet());
        if (engine.isShared() && engine.getMeta(META_SEALS + (newest + 1)) != null) {
            // on a shared store another node may have rolled over between the two reads: read the keyring again
            keyring.destroy();
            keyring = KeyMetadata.unwrapKeyring(engine, wrapKey, header, where);
            newest = Collections.max(keyring.dataKeys().keySet());
        }
        if (engine.getMeta(META_SEALS + (newest + 1)) != null) {
            // a rollover writes the keyring and the new version's count in one commit: the keyring was put back
            keyring.destroy();
            sealCount.close();
            wrapKey.destroy();
            throw new TokenStoreException(ErrorCode.CORRUPT, "the keyring of " + where + " is older than its seal"
                    + " counts: an older keyring was put back into the file");
        }
        Map<Integer, Long> seals = KeyMetadata.readSeals(engine, sealCount, keyring, sealLimit);
        return new Unlocked(keys(header, keyring), keyCheck, wrapKey, sealCount, seals);
    }

    private Unlocked initialise(MasterKey masterKey) {
        byte[] storeId = new byte[STORE_ID_BYTES];
        random.nextBytes(storeId);
        StoreHeader header = StoreHeader.create(storeId, masterKey, random);
        Keyring keyring = Keyring.generate(random);
        Batch batch = new Batch();
        SecretBytes wrapKey;
        try (SecretBytes master = header.masterKeyBytes(masterKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            KeyMetadata.putKeyMeta(batch, header, keyring, kh, random);
            wrapKey = kh.wrapKey().duplicate();
        }
        byte[] keyCheck = KeyMetadata.keyCheckIn(batch);
        SealCount sealCount = new SealCount(wrapKey, storeId);
        batch.putMeta(META_SEALS + 1, sealCount.encode(1, 0));
        engine.commit(batch); // nothing else is staged while a vault opens
        return new Unlocked(keys(header, keyring), keyCheck, wrapKey, sealCount, Map.of(1, 0L));
    }

    private Keys keys(StoreHeader header, Keyring keyring) {
        return new Keys(header, keyring, new BlindIndex(keyring.indexKey(), Field.indexLabels()),
                engine.indexGeneration());
    }
}
