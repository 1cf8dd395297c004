package dev.tokenvault;

import static dev.tokenvault.KeyMetadata.META_SEALS;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The vault's live keys: the keyring and header readers use, the wrap key, the authenticated seal counts per data key
 * version, and the keys replaced since the open (wiped at close). Seals records (rolling over to a new data key
 * version at the seal limit), edits the keyring, and undoes a key change with the batch it belonged to. Made by
 * {@link KeyUnlock}; the rotations are {@link KeyRotation}'s; on a shared store the seals are counted in blocks that
 * {@link SharedKeys} reserves.
 *
 * <p>Readers take {@link #current()} without locking. Everything else runs under the write lock of the
 * {@link WritePipeline}. A change to the key state travels in the batch it belongs to: it is published at once,
 * because readers need the keys of the records a batch stages, and it is undone with the batch: {@link #undoneOnFailure}
 * puts back the state the engine holds when a write fails before its batch is staged, and {@link #reload()} reads it
 * from the engine again when a staged batch is discarded or its commit fails.
 */
final class KeyState {
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
    /**
     * The highest data key version this vault has published: a rollover whose commit failed is forgotten
     * ({@link #reload}, {@link #restore}), but its number is not given to another key, since a reader that took the
     * key state meanwhile may still open records of that version with the abandoned key. Under the write lock.
     */
    private int highestVersion;
    // keys replaced by a rotation, which readers may still hold; wiped at close
    private final List<Runnable> retired = new ArrayList<>();
    // the key state the engine holds (staged or durable) while a write action runs
    private Savepoint savepoint;
    /** On a shared store: the seals this node reserved; {@code null} on a store only this vault changes. */
    private final SharedKeys block;

    /** The key state that the engine holds: what a write puts back when its batch is abandoned. */
    record Savepoint(Keys keys, Map<Integer, Long> seals) { }

    /** Takes over the key material {@code unlocked}; by {@link KeyUnlock} only. */
    KeyState(RecordEngine engine, String where, SecureRandom random, long sealLimit, KeyUnlock.Unlocked unlocked) {
        this.engine = engine;
        this.where = where;
        this.random = random;
        this.sealLimit = sealLimit;
        this.block = engine.isShared() ? new SharedKeys() : null;
        this.keys = unlocked.keys();
        this.keyCheck = unlocked.keyCheck();
        this.wrapKey = unlocked.wrapKey();
        this.sealCount = unlocked.sealCount();
        this.seals.putAll(unlocked.seals());
    }

    /**
     * The metadata keys of this key state: the header, key check, wrapped keyring and the seal count of each data key
     * version ({@link KeyMetadata#metadataKeys}).
     */
    List<String> metadataKeys() {
        return KeyMetadata.metadataKeys(seals.keySet());
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
     * block of seals this node reserved ({@link SharedKeys#seal}). Under the write lock.
     */
    byte[] seal(TokenRecord r, Batch batch) {
        if (block != null) {
            return block.seal(r, keys);
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
     * On a shared store: reserves the next block of seals ({@link SharedKeys#reserve}), first adding a data key version
     * when the stored one reached the seal limit or {@code newVersion} asks for one; then this node seals under the
     * stored keyring. Under the write lock.
     */
    void reserveBlock(boolean newVersion) {
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
            savepoint = mark(); // durable already: a failed write keeps it
        }
    }

    /** What this node's keys are, for {@link SharedKeys}. */
    SharedKeys.Own own() {
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
    Keys rollDataKey(Batch batch) {
        Keys k = keys;
        Keyring next = k.keyring().withNewDataKey(random, highestVersion + 1);
        highestVersion = next.currentVersion();
        putKeyring(batch, next);
        for (int skipped = k.keyring().currentVersion() + 1; skipped < next.currentVersion(); skipped++) {
            // a version an abandoned rollover took: its count, exhausted, marks it as used, so that the open still
            // finds a keyring put back from before this rollover by the count of the version after its newest
            batch.putMeta(META_SEALS + skipped, sealCount.encode(skipped, sealLimit));
        }
        batch.putMeta(META_SEALS + next.currentVersion(), sealCount.encode(next.currentVersion(), 0));
        seals.put(next.currentVersion(), 0L);
        Keys updated = k.withKeyring(next);
        keys = updated;
        return updated;
    }

    /** Adds {@code keyring}, wrapped under the current wrap key, to {@code batch}. */
    void putKeyring(Batch batch, Keyring keyring) {
        batch.putMeta(KeyMetadata.META_KEYRING, keyring.wrap(wrapKey, keys.storeId(), random));
    }

    /**
     * Adds to {@code batch} the removal of data key {@code versions} (no record uses them) and publishes the smaller
     * keyring; the removed keys are wiped at close, as readers may still hold them, and their seal counts stay stored.
     * Under the write lock, inside a write action.
     */
    void removeDataKeys(Batch batch, Collection<Integer> versions) {
        Keys k = keys;
        Keyring next = k.keyring().withoutDataKeys(versions);
        putKeyring(batch, next);
        // The removed versions' seal counts stay in the store: the open finds a keyring put back from before a
        // rollover by the count of the version after its newest (KeyUnlock), and that version may be one removed here.
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

    /**
     * After {@link KeyRotation#rotateMasterKey} committed: this node's keys are {@code next}, unwrapped with
     * {@code newWrapKey}; the old wrap key and count key are wiped, a replaced keyring is wiped at close.
     */
    void masterKeyRotated(byte[] newKeyCheck, SecretBytes newWrapKey, SealCount newSealCount, Keys next) {
        Keys k = keys;
        keyCheck = newKeyCheck;
        if (next.keyring() != k.keyring()) {
            retire(k.keyring()::destroy); // readers may still hold it
        }
        wrapKey.destroy();
        wrapKey = newWrapKey;
        sealCount.close();
        sealCount = newSealCount;
        keys = next;
    }

    /** For {@link KeyRotation}: the store and the random source of this key state, and the shared-store part. */
    RecordEngine engine() {
        return engine;
    }

    String where() {
        return where;
    }

    SecureRandom random() {
        return random;
    }

    /** {@code null} on a store only this vault changes. */
    SharedKeys shared() {
        return block;
    }

    // ---------------------------------------------------------------- writes that fail

    /**
     * Under the write lock: runs one write action; when it fails (a {@code CONFLICT} or invalid token later in
     * {@code saveTokens}, an {@code IO} failure while staging, an {@code Error}), the key state goes back to what the
     * engine holds, whatever the failure: a data-key rollover made for the abandoned batch is forgotten, and its new
     * key wiped.
     */
    <T> T undoneOnFailure(Supplier<T> action) {
        savepoint = mark();
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
            savepoint = mark();
        }
    }

    /** The key state as it is now; under the write lock. */
    Savepoint mark() {
        return new Savepoint(keys, Map.copyOf(seals));
    }

    /** Under the write lock: puts back the key state of {@code saved}, wiping the data keys made since. */
    void restore(Savepoint saved) {
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
            keyring = KeyMetadata.unwrapKeyring(engine, wrapKey, k.header(), where);
            seals.clear();
            seals.putAll(KeyMetadata.readSeals(engine, sealCount, keyring, sealLimit));
            keys = new Keys(k.header(), keyring, k.blindIndex(), engine.indexGeneration());
        } catch (EngineException e) {
            throw Errors.translate(e);
        }
        retire(k.keyring()::destroy); // readers may still hold the replaced keyring
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
