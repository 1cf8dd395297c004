package dev.tokenvault;

import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.crypto.KeyCheck;
import dev.tokenvault.crypto.KeyHierarchy;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.RecordSeal;
import dev.tokenvault.crypto.SealCount;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.crypto.AEADBadTagException;

/**
 * The vault's keys and what is stored about them: the header, the wrapped keyring, the wrap key, the authenticated
 * seal counts per data key version, and the keys replaced by rotations (wiped at close). Unlocks or initialises a
 * store, seals records (rolling over to a new data key version at the seal limit), and rotates the master and data
 * keys.
 *
 * <p>Readers take {@link #current()} without locking. Everything else runs under the write lock of the
 * {@link WritePipeline}. A change to the key state travels in the batch it belongs to: it is published at once,
 * because readers need the keys of the records a batch stages, and it is undone with the batch: {@link #undoneOnFailure}
 * puts back the state the engine holds when a write fails before its batch is staged, and {@link #reload()} reads it
 * from the engine again when a staged batch is discarded or its commit fails.
 */
final class KeyState {
    static final String META_HEADER = "header";
    private static final String META_KEY_CHECK = "keycheck";
    private static final String META_KEYRING = "keyring";
    private static final String META_SEALS = "seals.";
    private static final int STORE_ID_BYTES = 32;

    private final RecordEngine engine;
    private final String where;
    private final SecureRandom random;
    private final long sealLimit;
    private volatile Keys keys;
    // the stored key check of the current master key: another node's master-key rotation changes it
    private byte[] keyCheck;
    // the current keyring wrap key, kept so that data-key rotation needs no master key
    private SecretBytes wrapKey;
    // authenticates the seal counts under a key derived from wrapKey
    private SealCount sealCount;
    private final Map<Integer, Long> seals = new HashMap<>();
    // keys replaced by a rotation, which readers may still hold; wiped at close
    private final List<Runnable> retired = new ArrayList<>();
    // the key state the engine holds (staged or durable) while a write action runs
    private Savepoint savepoint;
    /** On a shared store: the seals this node reserved; {@code null} on a store only this vault changes. */
    private final SharedKeys block;

    /** The key state that the engine holds: what a write puts back when its batch is abandoned. */
    private record Savepoint(Keys keys, Map<Integer, Long> seals) { }

    private KeyState(RecordEngine engine, String where, SecureRandom random, long sealLimit) {
        this.engine = engine;
        this.where = where;
        this.random = random;
        this.sealLimit = sealLimit;
        this.block = engine.isShared() ? new SharedKeys() : null;
    }

    // ---------------------------------------------------------------- open

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
        KeyState state = new KeyState(engine, where, random, sealLimit);
        byte[] headerBytes = engine.getMeta(META_HEADER);
        if (headerBytes == null) {
            if (!state.isBlank()) {
                // initialising would overwrite the keyring and make every existing record unreadable for good
                throw new TokenStoreException(ErrorCode.CORRUPT, where + " has records, keys or index entries but"
                        + " no store header; it is not initialised again");
            }
            if (readOnly) {
                // a crash between creating the file and writing its keys: a store in name only, with nothing to read
                throw new TokenStoreException(ErrorCode.NOT_FOUND, where + " holds no store yet (its file was made"
                        + " but its keys were never written); a read-only open does not initialise it");
            }
            state.initialise(masterKey);
        } else {
            state.open(StoreHeader.decode(headerBytes, where), headerBytes, masterKey);
        }
        return state;
    }

    private void open(StoreHeader header, byte[] headerBytes, MasterKey masterKey) {
        Keyring keyring;
        try (SecretBytes master = header.masterKeyBytes(masterKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            keyCheck = engine.getMeta(META_KEY_CHECK);
            if (!KeyCheck.verify(kh.headerMacKey(), headerBytes, keyCheck)) {
                throw new TokenStoreException(ErrorCode.WRONG_KEY,
                        "the master key does not open " + where + " (wrong key, or its header was altered)");
            }
            keyring = unwrapKeyring(kh.wrapKey(), header);
            wrapKey = kh.wrapKey().duplicate();
        }
        sealCount = new SealCount(wrapKey, header.storeId);
        int newest = Collections.max(keyring.dataKeys().keySet());
        if (block != null && engine.getMeta(META_SEALS + (newest + 1)) != null) {
            // on a shared store another node may have rolled over between the two reads: read the keyring again
            keyring.destroy();
            keyring = unwrapKeyring(wrapKey, header);
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
        loadSeals(keyring);
        keys = new Keys(header, keyring, new BlindIndex(keyring.indexKey(), Field.indexLabels()),
                engine.indexGeneration());
    }

    private Keyring unwrapKeyring(SecretBytes withWrapKey, StoreHeader header) {
        return unwrapKeyring(withWrapKey, header, engine.getMeta(META_KEYRING));
    }

    Keyring unwrapKeyring(SecretBytes withWrapKey, StoreHeader header, byte[] wrapped) {
        try {
            return Keyring.unwrap(wrapped, withWrapKey, header.storeId);
        } catch (AEADBadTagException e) {
            throw new TokenStoreException(ErrorCode.CORRUPT, "the keyring of " + where + " fails authentication");
        }
    }

    private boolean isBlank() {
        return isBlank(engine);
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

    private void initialise(MasterKey masterKey) {
        byte[] storeId = new byte[STORE_ID_BYTES];
        random.nextBytes(storeId);
        StoreHeader header = StoreHeader.create(storeId, masterKey, random);
        Keyring keyring = Keyring.generate(random);
        Batch batch = new Batch();
        wrapKey = putKeyMeta(batch, header, keyring, masterKey);
        keyCheck = keyCheckIn(batch);
        sealCount = new SealCount(wrapKey, storeId);
        batch.putMeta(META_SEALS + 1, sealCount.encode(1, 0));
        engine.commit(batch); // nothing else is staged while a vault opens
        seals.put(1, 0L);
        keys = new Keys(header, keyring, new BlindIndex(keyring.indexKey(), Field.indexLabels()),
                engine.indexGeneration());
    }

    /**
     * Adds the header, key check and wrapped keyring for {@code masterKey} to {@code batch}; returns the wrap key,
     * which the caller owns.
     */
    private SecretBytes putKeyMeta(Batch batch, StoreHeader header, Keyring keyring, MasterKey masterKey) {
        try (SecretBytes master = header.masterKeyBytes(masterKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            putKeyMeta(batch, header, keyring, kh);
            return kh.wrapKey().duplicate();
        }
    }

    /** The key check that {@code batch} puts. */
    private static byte[] keyCheckIn(Batch batch) {
        for (Batch.Op op : batch.ops()) {
            if (op instanceof Batch.PutMeta p && p.key().equals(META_KEY_CHECK)) {
                return p.value();
            }
        }
        throw new IllegalStateException("no key check in the batch");
    }

    /** {@link #putKeyMeta(Batch, StoreHeader, Keyring, MasterKey)} with the keys derived already. */
    private void putKeyMeta(Batch batch, StoreHeader header, Keyring keyring, KeyHierarchy kh) {
        byte[] bytes = header.encode();
        batch.putMeta(META_HEADER, bytes)
                .putMeta(META_KEY_CHECK, KeyCheck.compute(kh.headerMacKey(), bytes))
                .putMeta(META_KEYRING, keyring.wrap(kh.wrapKey(), header.storeId, random));
    }

    /**
     * Reads the seal count of every version of {@code keyring}. A count that is missing or fails authentication
     * counts as exhausted, never as 0: the next seal then begins a new data key version instead of stretching a
     * budget that someone who can write the file tried to reset.
     */
    private void loadSeals(Keyring keyring) {
        seals.clear();
        for (Integer version : keyring.dataKeys().keySet()) {
            long count = sealCount.decode(version, engine.getMeta(META_SEALS + version));
            seals.put(version, count < 0 ? sealLimit : count);
        }
    }

    /**
     * The metadata keys of this key state: the header, key check, wrapped keyring and the seal count of each data key
     * version. With the records and index entries they are the whole store, which is what {@link StoreCopy} moves.
     */
    List<String> metadataKeys() {
        List<String> out = new ArrayList<>(List.of(META_HEADER, META_KEY_CHECK, META_KEYRING));
        for (Integer version : new TreeMap<>(seals).keySet()) {
            out.add(META_SEALS + version);
        }
        return out;
    }

    // ---------------------------------------------------------------- use

    /** The keys now; readers take them without a lock. */
    Keys current() {
        return keys;
    }

    /** Publishes {@code next}, e.g. a new index generation; under the write lock. */
    void publish(Keys next) {
        keys = next;
    }

    /**
     * Seals {@code r} under the current data key and counts the seal: in {@code batch}, or, on a shared store, in the
     * block of seals this node reserved. Under the write lock.
     */
    byte[] seal(TokenRecord r, Batch batch) {
        if (block != null) {
            return sealShared(r);
        }
        Keys k = keys;
        int version = k.keyring().currentVersion();
        long count = seals.getOrDefault(version, 0L);
        if (count >= sealLimit) {
            k = rollDataKey(batch);
            version = k.keyring().currentVersion();
            count = 0;
        }
        byte[] plain = r.encode();
        try {
            byte[] sealed = RecordSeal.seal(version, k.keyring().currentDataKey(), plain, k.storeId(), r.id());
            seals.put(version, count + 1);
            batch.putMeta(META_SEALS + version, sealCount.encode(version, count + 1));
            return sealed;
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** {@link #seal} on a shared store: under a version of the block this node reserved. */
    private byte[] sealShared(TokenRecord r) {
        int version = block.take(keys.keyring().currentVersion());
        if (version < 0) {
            throw block.ranOut();
        }
        Keys k = keys;
        byte[] plain = r.encode();
        try {
            return RecordSeal.seal(version, k.keyring().dataKey(version), plain, k.storeId(), r.id());
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * On a shared store, before a write takes its connection: reserves a block when what is left of this node's may
     * not last the write ({@link SharedKeys#startWrite}). A failure is kept for the write's first seal beyond the block,
     * so that a write that seals nothing goes on. Under the write lock.
     */
    void reserveSealsAhead() {
        if (block == null || !block.startWrite(keys.keyring().currentVersion())) {
            return;
        }
        try {
            reserveBlock(false);
        } catch (RuntimeException e) {
            block.failed(e);
        }
    }

    /**
     * On a shared store, in a transaction of its own that holds the keyring's row (so no other node's reservation,
     * rollover or rotation interleaves): reserves the next block of seals of the stored keyring's current version,
     * first adding a data key version when that one reached the seal limit or {@code newVersion} asks for one; then
     * this node seals under that keyring. A header that another node changed means the master key was rotated: this
     * node's keys can no longer write the keyring or the counts.
     */
    private void reserveBlock(boolean newVersion) {
        Keys k = keys;
        SharedKeys.Reservation r = block.reserve(engine, where, own(), random, sealLimit, newVersion, block.ahead());
        seals.put(r.version(), r.end());
        Keyring current = k.keyring();
        if (r.keyring().currentVersion() == current.currentVersion()
                && r.keyring().dataKeys().keySet().equals(current.dataKeys().keySet())) {
            r.keyring().destroy(); // nothing new: keep the keys readers hold
            return;
        }
        keys = k.withKeyring(r.keyring());
        retire(current::destroy); // readers may still hold it
        if (savepoint != null) {
            savepoint = new Savepoint(keys, Map.copyOf(seals)); // durable already: a failed write keeps it
        }
    }

    private SharedKeys.Own own() {
        return new SharedKeys.Own(keyCheck, keys.header(), wrapKey, sealCount);
    }

    /**
     * The data key of {@code version} when this vault's keyring lacks it: on a shared store another node may have
     * added it (a rotation or rollover), so the keyring is read from the store. {@code null} when it is not there
     * either. Readers call it without the write lock.
     */
    SecretBytes learnedDataKey(int version) {
        return block == null ? null : block.learned(version, engine, own(), where);
    }

    /** Adds a data key version to the keyring in {@code batch} and publishes it (see the class comment). */
    private Keys rollDataKey(Batch batch) {
        Keys k = keys;
        Keyring next = k.keyring().withNewDataKey(random);
        putKeyring(batch, next);
        batch.putMeta(META_SEALS + next.currentVersion(), sealCount.encode(next.currentVersion(), 0));
        seals.put(next.currentVersion(), 0L);
        Keys updated = k.withKeyring(next);
        keys = updated;
        return updated;
    }

    /** Adds {@code keyring}, wrapped under the current wrap key, to {@code batch}. */
    void putKeyring(Batch batch, Keyring keyring) {
        batch.putMeta(META_KEYRING, keyring.wrap(wrapKey, keys.storeId(), random));
    }

    /**
     * Adds to {@code batch} the removal of data key {@code versions} (no record uses them) and publishes the smaller
     * keyring; the removed keys are wiped at close, as readers may still hold them. Under the write lock, inside a
     * write action.
     */
    void removeDataKeys(Batch batch, Collection<Integer> versions) {
        Keys k = keys;
        Keyring next = k.keyring().withoutDataKeys(versions);
        putKeyring(batch, next);
        for (Integer v : versions) {
            batch.removeMeta(META_SEALS + v);
        }
        keys = k.withKeyring(next);
        for (Integer v : versions) {
            seals.remove(v);
            retire(k.keyring().dataKey(v)::destroy);
        }
    }

    /** Seal counts per data key version, a copy. Under the write lock. */
    Map<Integer, Long> sealCounts() {
        if (block != null) {
            return block.storedCounts(engine, own(), where); // every node's reservations, not this node's view
        }
        return new TreeMap<>(seals);
    }

    /** Wipes {@code wipe} at close: it belongs to keys that were replaced, which readers may still hold. */
    void retire(Runnable wipe) {
        retired.add(wipe);
    }

    // ---------------------------------------------------------------- writes that fail

    /**
     * Under the write lock: runs one write action; when it fails (a {@code CONFLICT} or invalid token later in
     * {@code saveTokens}, an {@code IO} failure while staging, an {@code Error}), the key state goes back to what the
     * engine holds, whatever the failure: a data-key rollover made for the abandoned batch is forgotten, and its new
     * key wiped.
     */
    <T> T undoneOnFailure(Supplier<T> action) {
        savepoint = new Savepoint(keys, Map.copyOf(seals));
        boolean succeeded = false;
        try {
            T result = action.get();
            succeeded = true;
            return result;
        } finally {
            if (!succeeded) {
                restore(savepoint);
            }
            savepoint = null;
        }
    }

    /** Under the write lock: the action's batch was staged, so the engine holds the key state as it is now. */
    void staged() {
        if (savepoint != null) {
            savepoint = new Savepoint(keys, Map.copyOf(seals));
        }
    }

    /** Under the write lock: puts back the key state of {@code saved}, wiping the data keys made since. */
    private void restore(Savepoint saved) {
        Keys abandoned = keys;
        keys = saved.keys();
        seals.clear();
        seals.putAll(saved.seals());
        if (abandoned != saved.keys()) {
            // No staged record uses a version made since, so no reader can need its key.
            abandoned.keyring().dataKeys().forEach((version, key) -> {
                if (saved.keys().keyring().dataKey(version) != key) {
                    key.destroy();
                }
            });
        }
    }

    /**
     * Under the write lock, after staged batches were discarded or their commit failed: the keyring and seal counts
     * as the engine holds them again.
     *
     * @throws TokenStoreException when they cannot be read: the vault no longer knows its key state, and its caller
     *         stops it
     */
    void reload() {
        Keys k = keys;
        Keyring keyring;
        try {
            keyring = unwrapKeyring(wrapKey, k.header());
            loadSeals(keyring);
            keys = new Keys(k.header(), keyring, k.blindIndex(), engine.indexGeneration());
        } catch (EngineException e) {
            throw Errors.translate(e);
        }
        retire(k.keyring()::destroy); // readers may still hold the replaced keyring
    }

    // ---------------------------------------------------------------- rotations

    /**
     * Re-wraps the keyring under {@code newKey} and commits it with {@code commit}, in one atomic commit. Under the
     * write lock.
     */
    void rotateMasterKey(MasterKey newKey, Consumer<Batch> commit) {
        Keys k = keys;
        StoreHeader header = StoreHeader.create(k.storeId(), newKey, random);
        SecretBytes newWrapKey;
        SealCount newSealCount;
        Keyring keyring = k.keyring();
        byte[][] newKeyCheck = new byte[1][];
        try (SecretBytes master = header.masterKeyBytes(newKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            newWrapKey = kh.wrapKey().duplicate();
            newSealCount = new SealCount(newWrapKey, header.storeId);
            try {
                if (block != null) {
                    // the store's keyring and counts, not this node's: other nodes may have changed them
                    keyring = block.rotateMaster(engine, where, own(), newSealCount, (stored, after) -> {
                        Batch meta = new Batch();
                        putKeyMeta(meta, header, stored, kh);
                        newKeyCheck[0] = keyCheckIn(meta);
                        meta.ops().forEach(op -> after.put(((Batch.PutMeta) op).key(), ((Batch.PutMeta) op).value()));
                    });
                } else {
                    Batch batch = new Batch();
                    putKeyMeta(batch, header, keyring, kh);
                    newKeyCheck[0] = keyCheckIn(batch);
                    // the counts are authenticated under the wrap key: re-authenticated in the same commit
                    seals.forEach((version, count) -> batch.putMeta(META_SEALS + version,
                            newSealCount.encode(version, count)));
                    commit.accept(batch);
                }
            } catch (RuntimeException e) {
                newSealCount.close();
                newWrapKey.destroy();
                throw e;
            }
        }
        keyCheck = newKeyCheck[0];
        if (keyring != k.keyring()) {
            retire(k.keyring()::destroy); // readers may still hold it
        }
        wrapKey.destroy();
        wrapKey = newWrapKey;
        sealCount.close();
        sealCount = newSealCount;
        keys = new Keys(header, keyring, k.blindIndex(), k.indexGeneration());
    }

    /** Adds a data key version and commits it with {@code commit}; on failure nothing changed. Under the write lock. */
    void rotateDataKey(Consumer<Batch> commit) {
        if (block != null) {
            reserveBlock(true); // other nodes seal under it from their next block on
            return;
        }
        Savepoint before = new Savepoint(keys, Map.copyOf(seals));
        Batch batch = new Batch();
        rollDataKey(batch);
        try {
            commit.accept(batch);
        } catch (RuntimeException e) {
            restore(before); // wipes the new data key
            throw e;
        }
    }

    /** Wipes every key: current, replaced and wrap key. Under the write lock, at close. */
    void close() {
        Keys k = keys;
        if (k != null) {
            k.blindIndex().close();
            k.keyring().destroy();
        }
        retired.forEach(Runnable::run);
        retired.clear();
        if (wrapKey != null) {
            wrapKey.destroy();
        }
        if (sealCount != null) {
            sealCount.close();
        }
        if (block != null) {
            block.close();
        }
    }
}
