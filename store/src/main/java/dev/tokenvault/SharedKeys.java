package dev.tokenvault;

import static dev.tokenvault.KeyMetadata.META_KEYRING;
import static dev.tokenvault.KeyMetadata.META_KEY_CHECK;
import static dev.tokenvault.KeyMetadata.META_SEALS;

import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.RecordSeal;
import dev.tokenvault.crypto.SealCount;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.RecordEngine;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import javax.crypto.AEADBadTagException;

/**
 * The key state's work on a shared store, where other nodes change the keyring and the seal counts too: every change
 * is one transaction of its own that holds the keyring's row ({@link RecordEngine#updateMeta}), reads what the store
 * holds, and writes from there, so no other node's reservation, rollover or rotation interleaves.
 *
 * <p>Seals are counted in blocks: a node reserves numbers {@code [next, end)} of the current version's count and seals
 * that many times without asking the store. The global count is then exact up to the seals a node reserved and did
 * not use (at most one block per node and crash), without a write of a shared counter in every transaction. Under the
 * write lock.
 */
final class SharedKeys {
    /** Seals reserved per transaction, at least. */
    static final long BLOCK = 1024;
    /**
     * Seals a write starts with, at least: a group commit of single saves (512 at most) never runs out. A write that
     * seals more (a long {@code saveTokens} list) runs out, is run again, and this grows to twice what it needed.
     */
    static final long AHEAD = 512;

    /** Data keys other nodes added, which readers met in records and read from the store; wiped at close. */
    private final Map<Integer, SecretBytes> learned = new ConcurrentHashMap<>();
    private int version = -1;
    private long next;
    private long end;
    private long ahead = AHEAD;
    /** Seals taken since the current write started. */
    private long taken;
    /** Why the reservation before the current write failed, or {@code null}: what its first seal then fails with. */
    private RuntimeException failure;

    /**
     * What this node's keys are: the stored key check of its master key (which another node's master-key rotation
     * changes), the header, the wrap key and the counts' key.
     */
    record Own(byte[] keyCheck, StoreHeader header, SecretBytes wrapKey, SealCount sealCount) { }

    /**
     * A block of seals reserved under {@code keyring}'s version {@code version}, numbers {@code start} (included) to
     * {@code end} (excluded): the store's keyring, which the caller owns.
     */
    record Reservation(Keyring keyring, int version, long start, long end) { }

    /**
     * A write starts, before it takes a connection: whether this node must reserve a block first, because what is
     * left of its block under {@code currentVersion} may not last the write. A reservation borrows a connection of its
     * own, so it is made here and never while the write holds one: a pool of one connection would wait forever.
     */
    boolean startWrite(int currentVersion) {
        taken = 0;
        failure = null;
        return version != currentVersion || end - next < ahead;
    }

    /** The reservation before this write failed: the write's first seal beyond the block fails with {@code e}. */
    void failed(RuntimeException e) {
        failure = e;
    }

    /**
     * Seals {@code r} under the version of the block this node reserved, which {@code k} holds, counting one seal.
     *
     * @throws RuntimeException from {@link #ranOut} when the block is used up
     */
    byte[] seal(TokenRecord r, Keys k) {
        int v = take(k.keyring().currentVersion());
        if (v < 0) {
            throw ranOut();
        }
        byte[] plain = r.encode();
        try {
            return RecordSeal.seal(v, k.keyring().dataKey(v), plain, k.storeId(), r.id());
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** The version to seal under, counting one seal; {@code -1} when the block is used up (see {@link #ranOut}). */
    private int take(int currentVersion) {
        if (version != currentVersion || next >= end) {
            return -1;
        }
        next++;
        taken++;
        return version;
    }

    /**
     * What a seal beyond the block throws: why the reservation before the write failed, or {@link SealsRunOut}, after
     * which the next write starts with twice the seals this one needed.
     */
    private RuntimeException ranOut() {
        if (failure != null) {
            return failure;
        }
        ahead = Math.max(ahead, 2 * (taken + 1));
        return new SealsRunOut();
    }

    /** How many seals the next reservation takes, at least: what a write starts with. */
    long ahead() {
        return ahead;
    }

    /**
     * A write sealed more than the block its node reserved before it began: the write pipeline discards what the
     * write staged, and runs it again after a larger reservation (never made while the write holds a connection).
     */
    static final class SealsRunOut extends RuntimeException {
        SealsRunOut() {
            super("the block of seals reserved before the write ran out; the write runs again after a larger one",
                    null, false, false);
        }
    }

    /**
     * Reserves the next block of the stored keyring's current version, of {@link #BLOCK} seals or {@code atLeast} when
     * more (fewer when the version reaches {@code sealLimit}), first adding a data key version when that one reached
     * {@code sealLimit} or {@code newVersion} asks for one (then the block is empty). What was left of the block before
     * is given up: the stored count stays an upper bound of the seals made.
     *
     * @throws TokenStoreException {@code WRONG_KEY} when another node rotated the master key: this node's keys can no
     *         longer write the keyring or the counts
     */
    Reservation reserve(RecordEngine engine, String where, Own own, SecureRandom random, long sealLimit,
                        boolean newVersion, long atLeast) {
        Reservation[] made = new Reservation[1];
        try {
            reserveInStore(engine, where, own, random, sealLimit, newVersion, atLeast, made);
        } catch (RuntimeException | Error e) {
            if (made[0] != null) {
                made[0].keyring().destroy();
            }
            throw e;
        }
        // Only once the store counts the block: one whose transaction failed was never counted, and sealing under it
        // would let the stored count fall below the seals made (another node would reserve the same numbers).
        version = made[0].version();
        next = made[0].start();
        end = made[0].end();
        return made[0];
    }

    /** {@link #reserve}'s transaction: leaves the block in {@code made[0]}. */
    private void reserveInStore(RecordEngine engine, String where, Own own, SecureRandom random, long sealLimit,
                                boolean newVersion, long atLeast, Reservation[] made) {
        Errors.call(() -> engine.updateMeta(List.of(META_KEYRING, META_KEY_CHECK), before -> {
            checkHeader(own, before, where);
            if (made[0] != null) {
                made[0].keyring().destroy(); // from an attempt the database rolled back
            }
            Keyring stored = unwrap(own, before.get(META_KEYRING), where);
            Map<String, byte[]> after = new HashMap<>();
            int v = stored.currentVersion();
            long count = own.sealCount().decode(v, engine.getMeta(META_SEALS + v));
            if (count < 0 || count >= sealLimit || newVersion) {
                Keyring added = stored.withNewDataKey(random);
                stored = added;
                v = added.currentVersion();
                count = 0;
                after.put(META_KEYRING, added.wrap(own.wrapKey(), own.header().storeId, random));
            }
            long to = newVersion ? 0 : Math.min(sealLimit, count + Math.max(BLOCK, atLeast));
            after.put(META_SEALS + v, own.sealCount().encode(v, to));
            made[0] = new Reservation(stored, v, count, to);
            return after;
        }));
    }

    /**
     * Re-wraps the stored keyring under a new master key and re-authenticates every stored seal count, in one
     * transaction: {@code keyMeta} adds the new header, key check and wrapped keyring for a keyring. Other nodes keep
     * their keys in memory, read on, and fail their next reservation with {@code WRONG_KEY}.
     *
     * @return the stored keyring, which the caller owns
     */
    Keyring rotateMaster(RecordEngine engine, String where, Own own, SealCount newCount,
                         BiConsumer<Keyring, Map<String, byte[]>> keyMeta) {
        Keyring[] made = new Keyring[1];
        Errors.call(() -> engine.updateMeta(List.of(META_KEYRING, META_KEY_CHECK), before -> {
            checkHeader(own, before, where);
            if (made[0] != null) {
                made[0].destroy();
            }
            Keyring stored = unwrap(own, before.get(META_KEYRING), where);
            Map<String, byte[]> after = new HashMap<>();
            for (Integer v : stored.dataKeys().keySet()) {
                long count = own.sealCount().decode(v, engine.getMeta(META_SEALS + v));
                after.put(META_SEALS + v, newCount.encode(v, count < 0 ? Long.MAX_VALUE : count));
            }
            keyMeta.accept(stored, after);
            made[0] = stored;
            return after;
        }));
        return made[0];
    }

    /**
     * The data key of {@code version} as the store's keyring holds it (another node added it), or {@code null}. For
     * readers, without the write lock; each version is read from the store once.
     */
    SecretBytes learned(int v, RecordEngine engine, Own own, String where) {
        SecretBytes known = learned.get(v);
        if (known != null) {
            return known;
        }
        synchronized (learned) {
            if (!learned.containsKey(v)) {
                checkHeader(own, Map.of(META_KEY_CHECK, Errors.call(() -> engine.getMeta(META_KEY_CHECK))), where);
                Keyring stored = unwrap(own, Errors.call(() -> engine.getMeta(META_KEYRING)), where);
                SecretBytes key = stored.dataKey(v);
                if (key != null) {
                    learned.put(v, key.duplicate());
                }
                stored.destroy();
            }
            return learned.get(v);
        }
    }

    /** The stored seal count of every version of the stored keyring: what every node reserved. */
    Map<Integer, Long> storedCounts(RecordEngine engine, Own own, String where) {
        Map<Integer, Long> out = new TreeMap<>();
        Keyring stored = unwrap(own, Errors.call(() -> engine.getMeta(META_KEYRING)), where);
        try {
            for (Integer v : stored.dataKeys().keySet()) {
                long count = own.sealCount().decode(v, Errors.call(() -> engine.getMeta(META_SEALS + v)));
                out.put(v, count < 0 ? Long.MAX_VALUE : count);
            }
        } finally {
            stored.destroy();
        }
        return out;
    }

    /** Wipes the learned keys; at close. */
    void close() {
        learned.values().forEach(SecretBytes::destroy);
    }

    private static void checkHeader(Own own, Map<String, byte[]> before, String where) {
        if (!Arrays.equals(own.keyCheck(), before.get(META_KEY_CHECK))) {
            throw new TokenStoreException(ErrorCode.WRONG_KEY, "the master key of " + where + " was rotated by another"
                    + " node; open it again with the new key (records sealed under data keys this node knows stay"
                    + " readable until then)");
        }
    }

    private static Keyring unwrap(Own own, byte[] wrapped, String where) {
        try {
            return Keyring.unwrap(wrapped, own.wrapKey(), own.header().storeId);
        } catch (AEADBadTagException e) {
            throw new TokenStoreException(ErrorCode.CORRUPT, "the keyring of " + where + " fails authentication");
        }
    }
}
