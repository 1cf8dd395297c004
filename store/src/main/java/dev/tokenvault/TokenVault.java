package dev.tokenvault;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.crypto.KeyCheck;
import dev.tokenvault.crypto.KeyHierarchy;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.RecordSeal;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.MapDbEngine;
import dev.tokenvault.engine.RecordEngine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import javax.crypto.AEADBadTagException;

/**
 * An encrypted, embedded {@link TokenStore}: every record sealed with AES-256-GCM, every lookup an O(1) blind-index
 * read, a cache of decrypted snapshots in front.
 *
 * <pre>{@code
 * try (TokenVault vault = TokenVault.builder()
 *         .path(Path.of("tokens.db"))
 *         .masterKey(MasterKey.fromFile(Path.of("master.key")))
 *         .open()) {
 *     vault.saveToken(token);
 *     OAuthToken found = vault.findToken(OAuthToken.builder().userName("user@example.com").build());
 * }
 * }</pre>
 *
 * <p>Thread-safe. Writes are serialised and durable on return; concurrent writers share one fsync (group commit).
 * Reads never see part of a write. Every method throws {@link TokenStoreException} with {@code CLOSED} after
 * {@link #close()}.
 */
public final class TokenVault implements TokenStore, AutoCloseable {
    private static final String META_HEADER = "header";
    private static final String META_KEY_CHECK = "keycheck";
    private static final String META_KEYRING = "keyring";
    private static final String META_SEALS = "seals.";
    /** NIST SP 800-38D allows 2^32 random-nonce seals per key; a new data key begins at 2^30. */
    static final long DEFAULT_SEAL_LIMIT = 1L << 30;
    /** Most tokens one {@link #saveTokens} call takes: its commit is held in memory whole. */
    public static final int MAX_TOKENS_PER_SAVE = 10_000;
    /** Most bytes (UTF-8) any field other than the id may hold. */
    public static final int MAX_FIELD_BYTES = TokenRecord.MAX_FIELD_BYTES;
    /** Most characters an id may hold. */
    public static final int MAX_ID_LENGTH = TokenRecord.MAX_ID_LENGTH;

    private final RecordEngine engine;
    private final String where;
    private final SecureRandom random = new SecureRandom();
    private final Cache<LookupKey, Cached> cache; // null when off
    // Bumped (after the change is applied) by every cache-wide invalidation. Caffeine's invalidateAll() does not wait
    // for loads in flight, so a load that read the old state could put it back afterwards; a load is tagged with the
    // epoch it started in, and a hit from an older epoch is discarded.
    private final java.util.concurrent.atomic.AtomicLong cacheEpoch = new java.util.concurrent.atomic.AtomicLong();
    /** Held by the one thread that applies writes (the combiner) and by key rotations. */
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ConcurrentLinkedQueue<PendingWrite> writeQueue = new ConcurrentLinkedQueue<>();
    private final long sealLimit;

    private volatile boolean closed;
    private volatile Keys keys;
    // the current keyring wrap key, kept so that data-key rotation needs no master key; guarded by writeLock
    private SecretBytes wrapKey;
    // guarded by writeLock
    private final Map<Integer, Long> seals = new HashMap<>();

    /** Keys derived at open; replaced whole on rotation. */
    private record Keys(StoreHeader header, Keyring keyring, BlindIndex blindIndex) { }

    private record LookupKey(Field field, String value) { }

    private record Cached(TokenRecord record, long epoch) { }

    private TokenVault(RecordEngine engine, String where, Cache<LookupKey, Cached> cache, long sealLimit) {
        this.engine = engine;
        this.where = where;
        this.cache = cache;
        this.sealLimit = sealLimit;
    }

    /** The entry point: {@code TokenVault.builder().path(p).masterKey(k).open()}. */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- open

    private void unlock(MasterKey masterKey) {
        byte[] headerBytes = engine.getMeta(META_HEADER);
        if (headerBytes == null) {
            initialise(masterKey);
            return;
        }
        StoreHeader header = StoreHeader.decode(headerBytes, where);
        Keyring keyring;
        try (SecretBytes master = header.masterKeyBytes(masterKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            if (!KeyCheck.verify(kh.headerMacKey(), headerBytes, engine.getMeta(META_KEY_CHECK))) {
                throw new TokenStoreException(ErrorCode.WRONG_KEY,
                        "the master key does not open " + where + " (wrong key, or its header was altered)");
            }
            try {
                keyring = Keyring.unwrap(engine.getMeta(META_KEYRING), kh.wrapKey(), header.storeId);
            } catch (AEADBadTagException e) {
                throw new TokenStoreException(ErrorCode.CORRUPT, "the keyring of " + where + " fails authentication");
            }
            wrapKey = kh.wrapKey().duplicate();
        }
        for (Integer version : keyring.dataKeys().keySet()) {
            byte[] count = engine.getMeta(META_SEALS + version);
            seals.put(version, count == null ? 0L : ByteBuffer.wrap(count).getLong());
        }
        keys = new Keys(header, keyring, new BlindIndex(keyring.indexKey(), Field.indexLabels()));
    }

    private void initialise(MasterKey masterKey) {
        byte[] storeId = new byte[32];
        random.nextBytes(storeId);
        StoreHeader header = StoreHeader.create(storeId, masterKey, random);
        Keyring keyring = Keyring.generate(random);
        Batch batch = new Batch();
        SecretBytes newWrapKey = putKeyMeta(batch, header, keyring, masterKey);
        batch.putMeta(META_SEALS + 1, longBytes(0));
        engine.commit(batch);
        wrapKey = newWrapKey;
        seals.put(1, 0L);
        keys = new Keys(header, keyring, new BlindIndex(keyring.indexKey(), Field.indexLabels()));
    }

    /**
     * Adds the header, key check and wrapped keyring for {@code masterKey} to {@code batch}; returns the wrap key,
     * which the caller owns.
     */
    private SecretBytes putKeyMeta(Batch batch, StoreHeader header, Keyring keyring, MasterKey masterKey) {
        byte[] headerBytes = header.encode();
        try (SecretBytes master = header.masterKeyBytes(masterKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            batch.putMeta(META_HEADER, headerBytes)
                    .putMeta(META_KEY_CHECK, KeyCheck.compute(kh.headerMacKey(), headerBytes))
                    .putMeta(META_KEYRING, keyring.wrap(kh.wrapKey(), header.storeId, random));
            return kh.wrapKey().duplicate();
        }
    }

    // ---------------------------------------------------------------- TokenStore

    @Override
    public OAuthToken findToken(OAuthToken query) {
        checkOpen();
        if (query == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "query must not be null");
        }
        TokenRecord found = select(TokenRecord.from(query, "query"));
        if (found == null) {
            return null;
        }
        found.fillInto(query);
        return query;
    }

    /** Branches 1 to 4 of the contract; the first that applies decides. */
    private TokenRecord select(TokenRecord q) {
        TokenRecord byContent = selectByContent(q, this::lookup);
        if (byContent != null || appliesByContent(q)) {
            return byContent;
        }
        String id = q.id();
        return id == null ? null : lookup(Field.ID, id);
    }

    private static boolean appliesByContent(TokenRecord q) {
        boolean clientId = q.get(Field.CLIENT_ID) != null;
        boolean clientSecret = q.get(Field.CLIENT_SECRET) != null;
        return q.get(Field.USER_NAME) != null
                || (q.get(Field.ACCESS_TOKEN) != null && !clientId && !clientSecret)
                || ((q.get(Field.GRANT_TOKEN) != null || q.get(Field.REFRESH_TOKEN) != null) && clientId && clientSecret);
    }

    /** Reads one record by field and value; readers go through the cache, writers through a {@link WriteView}. */
    @FunctionalInterface
    private interface Lookup {
        TokenRecord find(Field field, String value);
    }

    /** Branches 1 to 3; {@code null} when none applies or the one that applies matches nothing. */
    private static TokenRecord selectByContent(TokenRecord q, Lookup lookup) {
        boolean clientId = q.get(Field.CLIENT_ID) != null;
        boolean clientSecret = q.get(Field.CLIENT_SECRET) != null;
        if (q.get(Field.USER_NAME) != null) {
            return lookup.find(Field.USER_NAME, q.get(Field.USER_NAME));
        }
        if (q.get(Field.ACCESS_TOKEN) != null && !clientId && !clientSecret) {
            return lookup.find(Field.ACCESS_TOKEN, q.get(Field.ACCESS_TOKEN));
        }
        if ((q.get(Field.GRANT_TOKEN) != null || q.get(Field.REFRESH_TOKEN) != null) && clientId && clientSecret) {
            TokenRecord byGrant = q.get(Field.GRANT_TOKEN) == null ? null
                    : lookup.find(Field.GRANT_TOKEN, q.get(Field.GRANT_TOKEN));
            if (byGrant != null || q.get(Field.REFRESH_TOKEN) == null) {
                return byGrant;
            }
            return lookup.find(Field.REFRESH_TOKEN, q.get(Field.REFRESH_TOKEN));
        }
        return null;
    }

    /** The record whose {@code field} is {@code value}, through the cache when it is on. */
    private TokenRecord lookup(Field field, String value) {
        if (cache == null) {
            return load(field, value);
        }
        // A load runs inside the cache's per-key computation, so a writer's invalidation of this key waits for it
        // and then removes what it loaded: no stale value survives a write. A cache-wide invalidation does not wait
        // for loads, hence the epoch check.
        LookupKey key = new LookupKey(field, value);
        while (true) {
            Cached c = cache.get(key, k -> {
                long epoch = cacheEpoch.get();
                TokenRecord r = load(k.field(), k.value());
                return r == null ? null : new Cached(r, epoch);
            });
            if (c == null) {
                return null;
            }
            if (c.epoch() == cacheEpoch.get()) {
                return c.record();
            }
            cache.asMap().remove(key, c); // loaded before a cache-wide invalidation: may be stale
        }
    }

    private TokenRecord load(Field field, String value) {
        try {
            Keys k = keys;
            if (field == Field.ID) {
                byte[] sealed = engine.get(value);
                return sealed == null ? null : open(k, value, sealed);
            }
            RecordEngine.Entry entry = engine.getByIndex(field.index, k.blindIndex().compute(field.index, value));
            if (entry == null) {
                return null;
            }
            if (entry.sealed() == null) {
                throw new TokenStoreException(ErrorCode.INTEGRITY, "the " + field.label
                        + " index names record " + entry.id() + ", which does not exist");
            }
            TokenRecord r = open(k, entry.id(), entry.sealed());
            if (!value.equals(r.get(field))) {
                throw new TokenStoreException(ErrorCode.INTEGRITY, "the " + field.label + " index entry for record "
                        + entry.id() + " does not match the record");
            }
            return r;
        } catch (EngineException e) {
            throw translate(e);
        }
    }

    private TokenRecord open(Keys k, String id, byte[] sealed) {
        try {
            SecretBytes dataKey = k.keyring().dataKey(RecordSeal.keyVersion(sealed));
            if (dataKey == null) {
                throw new AEADBadTagException("unknown key version");
            }
            TokenRecord r = TokenRecord.decode(RecordSeal.open(sealed, dataKey, k.header().storeId, id));
            if (r == null || !id.equals(r.id())) {
                throw new AEADBadTagException("record plaintext malformed");
            }
            return r;
        } catch (AEADBadTagException e) {
            throw new TokenStoreException(ErrorCode.INTEGRITY, "record " + id + " fails authentication");
        }
    }

    @Override
    public OAuthToken findTokenById(String id) {
        checkOpen();
        TokenRecord r = lookup(Field.ID, checkedId(id));
        if (r == null) {
            throw notFound(id);
        }
        return r.toToken();
    }

    @Override
    public void saveToken(OAuthToken token) {
        saveTokens(List.of(token == null ? nullToken() : token));
    }

    /**
     * Saves many tokens in one atomic, durable commit: each is an upsert exactly as {@link #saveToken} defines it,
     * applied in list order (a later token sees the earlier ones), and either every token is saved or none is.
     * On return each token carries its merged record, id included. For imports and bulk loads: one fsync for all.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} for a null or oversized list or any invalid token,
     *         {@code CONFLICT} when any token conflicts with the store or an earlier token; the message names the
     *         position in the list; nothing is written
     */
    public void saveTokens(List<OAuthToken> tokens) {
        checkOpen();
        if (tokens == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "tokens must not be null");
        }
        if (tokens.size() > MAX_TOKENS_PER_SAVE) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT,
                    "tokens must hold at most " + MAX_TOKENS_PER_SAVE + " tokens per call");
        }
        List<TokenRecord> in = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            try {
                in.add(TokenRecord.from(tokens.get(i), "token"));
            } catch (TokenStoreException e) {
                throw tokens.size() == 1 ? e : atPosition(i, e);
            }
        }
        List<TokenRecord> merged = new ArrayList<>(in.size());
        write(() -> {
            WriteView view = new WriteView();
            Batch batch = new Batch();
            for (int i = 0; i < in.size(); i++) {
                try {
                    merged.add(planSave(view, in.get(i), batch));
                } catch (TokenStoreException e) {
                    throw in.size() == 1 ? e : atPosition(i, e);
                }
            }
            if (batch.isEmpty()) {
                return 0;
            }
            long ticket = stage(batch);
            view.invalidateTouched();
            return ticket;
        });
        for (int i = 0; i < tokens.size(); i++) {
            merged.get(i).copyInto(tokens.get(i));
        }
    }

    private static TokenStoreException atPosition(int i, TokenStoreException e) {
        return new TokenStoreException(e.code(), "tokens[" + i + "]: " + e.getMessage(), e);
    }

    private static OAuthToken nullToken() {
        throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "token must not be null");
    }

    /**
     * Checks {@code token} against the field rules every save applies (sizes, id shape, digits-only expiry, valid
     * Unicode) without touching any store; for tools that report every bad row before writing anything.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} naming the field and the rule
     */
    public static void validate(OAuthToken token) {
        TokenRecord.from(token, "token");
    }

    /** Decides one upsert against {@code view}, adds its changes to {@code batch} and to the view. */
    private TokenRecord planSave(WriteView view, TokenRecord in, Batch batch) {
        TokenRecord existing = selectForSave(view, in);
        TokenRecord merged;
        if (existing == null) {
            if (in.get(Field.ACCESS_TOKEN) == null && in.get(Field.REFRESH_TOKEN) == null
                    && in.get(Field.GRANT_TOKEN) == null) {
                throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT,
                        "a new token needs at least one of accessToken, refreshToken or grantToken");
            }
            merged = in.id() != null ? in : in.withId(newId());
        } else {
            merged = existing.mergedWith(in);
        }
        checkUnique(view, merged);
        batch.putRecord(merged.id(), seal(merged, batch));
        Keys k = keys;
        for (Field f : Field.INDEXED) {
            String old = existing == null ? null : existing.get(f);
            String now = merged.get(f);
            if (old != null && !old.equals(now)) {
                batch.removeIndex(f.index, k.blindIndex().compute(f.index, old));
            }
            if (now != null && !now.equals(old)) {
                batch.putIndex(f.index, k.blindIndex().compute(f.index, now), merged.id());
            }
        }
        view.replace(existing, merged);
        return merged;
    }

    /** Row selection for a save: (a) by id, (b) branches 1 to 3, (c) a record holding one of the tokens. */
    private static TokenRecord selectForSave(WriteView view, TokenRecord in) {
        if (in.id() != null) {
            return view.find(Field.ID, in.id());
        }
        TokenRecord byContent = selectByContent(in, view);
        if (byContent != null) {
            return byContent;
        }
        for (Field f : new Field[] {Field.ACCESS_TOKEN, Field.GRANT_TOKEN, Field.REFRESH_TOKEN}) {
            String v = in.get(f);
            TokenRecord holder = v == null ? null : view.find(f, v);
            if (holder != null && compatibleUsers(holder.get(Field.USER_NAME), in.get(Field.USER_NAME))) {
                return holder;
            }
        }
        return null;
    }

    private static boolean compatibleUsers(String a, String b) {
        return a == null || b == null || a.equals(b);
    }

    private static void checkUnique(WriteView view, TokenRecord merged) {
        for (Field f : Field.INDEXED) {
            String v = merged.get(f);
            if (v == null) {
                continue;
            }
            TokenRecord owner = view.find(f, v);
            if (owner != null && !owner.id().equals(merged.id())) {
                throw new TokenStoreException(ErrorCode.CONFLICT,
                        f.label + " is already held by record " + owner.id() + "; each " + f.label
                                + " must belong to one record");
            }
        }
    }

    /**
     * What a write decides on: the stored state (never the cache), with the changes this write has planned so far
     * laid over it, so that the tokens of one {@link #saveTokens} call see each other.
     */
    private final class WriteView implements Lookup {
        private final Map<LookupKey, TokenRecord> overlay = new HashMap<>(); // a null value: removed
        private final List<TokenRecord> touched = new ArrayList<>();

        @Override
        public TokenRecord find(Field field, String value) {
            LookupKey key = new LookupKey(field, value);
            return overlay.containsKey(key) ? overlay.get(key) : load(field, value);
        }

        void replace(TokenRecord old, TokenRecord now) {
            if (old != null) {
                putAll(old, null);
                touched.add(old);
            }
            if (now != null) {
                putAll(now, now);
                touched.add(now);
            }
        }

        private void putAll(TokenRecord r, TokenRecord value) {
            overlay.put(new LookupKey(Field.ID, r.id()), value);
            for (Field f : Field.INDEXED) {
                if (r.get(f) != null) {
                    overlay.put(new LookupKey(f, r.get(f)), value);
                }
            }
        }

        void invalidateTouched() {
            touched.forEach(TokenVault.this::invalidate);
        }
    }

    /** Seals {@code r} under the current data key and counts the seal in {@code batch}. */
    private byte[] seal(TokenRecord r, Batch batch) {
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
            byte[] sealed = RecordSeal.seal(version, k.keyring().currentDataKey(), plain, k.header().storeId, r.id());
            seals.put(version, count + 1);
            batch.putMeta(META_SEALS + version, longBytes(count + 1));
            return sealed;
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** Adds a data key version to the keyring in {@code batch}; the new keys take effect at once. */
    private Keys rollDataKey(Batch batch) {
        Keys k = keys;
        Keyring next = k.keyring().withNewDataKey(random);
        byte[] wrapped = next.wrap(wrapKey, k.header().storeId, random);
        batch.putMeta(META_KEYRING, wrapped).putMeta(META_SEALS + next.currentVersion(), longBytes(0));
        seals.put(next.currentVersion(), 0L);
        Keys updated = new Keys(k.header(), next, k.blindIndex());
        keys = updated;
        return updated;
    }

    @Override
    public void deleteToken(String id) {
        checkOpen();
        String checked = checkedId(id);
        write(() -> {
            TokenRecord existing = load(Field.ID, checked);
            if (existing == null) {
                throw notFound(checked);
            }
            Batch batch = new Batch().removeRecord(checked);
            Keys k = keys;
            for (Field f : Field.INDEXED) {
                String v = existing.get(f);
                if (v != null) {
                    batch.removeIndex(f.index, k.blindIndex().compute(f.index, v));
                }
            }
            long ticket = stage(batch);
            invalidate(existing);
            return ticket;
        });
    }

    @Override
    public List<OAuthToken> getTokens() {
        checkOpen();
        Keys k = keys;
        List<OAuthToken> out = new ArrayList<>();
        try {
            engine.forEachRecord((id, sealed) -> out.add(open(k, id, sealed).toToken()));
        } catch (EngineException e) {
            throw translate(e);
        }
        return out;
    }

    @Override
    public void deleteTokens() {
        checkOpen();
        write(() -> {
            long ticket = stage(new Batch().clearAll());
            invalidateAll();
            return ticket;
        });
    }

    // ---------------------------------------------------------------- group commit

    /** A write waiting for the combiner: its action decides, stages one batch and returns the ticket. */
    private static final class PendingWrite {
        final LongSupplier action;
        final Thread waiter = Thread.currentThread();
        long ticket;
        RuntimeException failure;
        volatile boolean done;

        PendingWrite(LongSupplier action) {
            this.action = action;
        }
    }

    /**
     * Runs {@code action} with every other write excluded, and returns once its batch is durable.
     *
     * <p>Group commit by combining: writers queue their actions; whichever holds the write lock runs every queued
     * action in order (each sees the ones before it), then makes them all durable with one commit. Writers that
     * arrive during that commit's fsync are served by the next one together.
     */
    private void write(LongSupplier action) {
        PendingWrite w = new PendingWrite(action);
        writeQueue.add(w);
        boolean interrupted = false;
        while (!w.done) {
            if (writeLock.tryLock()) {
                try {
                    combine();
                } finally {
                    writeLock.unlock();
                }
                PendingWrite next = writeQueue.peek();
                if (next != null) {
                    LockSupport.unpark(next.waiter);
                }
            } else {
                LockSupport.parkNanos(this, 100_000L); // woken early by the combiner that serves us
                // A write cannot be abandoned once queued; keep the interrupt for the caller, but do not spin on it.
                interrupted |= Thread.interrupted();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (w.failure != null) {
            throw w.failure;
        }
    }

    /** Under the write lock: run the queued writes, one durable commit for all, then release their callers. */
    private void combine() {
        List<PendingWrite> group = new ArrayList<>();
        long last = 0;
        for (PendingWrite w; group.size() < 512 && (w = writeQueue.poll()) != null; ) {
            group.add(w);
            try {
                checkOpen();
                w.ticket = w.action.getAsLong();
                last = Math.max(last, w.ticket);
            } catch (RuntimeException e) {
                w.failure = e;
            } catch (Error e) {
                // Still release every caller of this group; the Error reaches the writer whose action threw it.
                w.failure = new TokenStoreException(ErrorCode.IO, "the write failed: " + e, e);
            }
        }
        boolean failed = false;
        if (last > 0) {
            try {
                awaitDurable(last);
            } catch (RuntimeException e) {
                failed = true;
            }
        }
        for (PendingWrite w : group) {
            if (w.failure == null && w.ticket > 0) {
                try {
                    awaitDurable(w.ticket); // returns at once, or throws when its batch was discarded
                } catch (RuntimeException e) {
                    failed = true;
                    w.failure = e;
                }
            }
        }
        if (failed) {
            reloadKeyState();
        }
        for (PendingWrite w : group) {
            w.done = true;
            LockSupport.unpark(w.waiter);
        }
    }

    /** After a failed commit: the keyring and seal counters as the engine holds them again. */
    private void reloadKeyState() {
        Keys k = keys;
        try {
            Keyring keyring = Keyring.unwrap(engine.getMeta(META_KEYRING), wrapKey, k.header().storeId);
            seals.clear();
            for (Integer version : keyring.dataKeys().keySet()) {
                byte[] count = engine.getMeta(META_SEALS + version);
                seals.put(version, count == null ? 0L : ByteBuffer.wrap(count).getLong());
            }
            keys = new Keys(k.header(), keyring, k.blindIndex());
        } catch (AEADBadTagException | RuntimeException e) {
            // The engine is unusable; every later call reports its own error.
        }
    }

    // ---------------------------------------------------------------- keys

    /**
     * Re-wraps the keyring under {@code newKey} in one atomic commit, O(1) in the number of records. Afterwards only
     * {@code newKey} opens the store. A passphrase key gets a new random salt.
     */
    public void rotateMasterKey(MasterKey newKey) {
        checkOpen();
        if (newKey == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "newKey must not be null");
        }
        writeLock.lock();
        try {
            checkOpen();
            Keys k = keys;
            StoreHeader header = StoreHeader.create(k.header().storeId, newKey, random);
            Batch batch = new Batch();
            SecretBytes newWrapKey = putKeyMeta(batch, header, k.keyring(), newKey);
            try {
                commitNow(batch);
            } catch (RuntimeException e) {
                newWrapKey.destroy();
                throw e;
            }
            wrapKey.destroy();
            wrapKey = newWrapKey;
            keys = new Keys(header, k.keyring(), k.blindIndex());
        } finally {
            writeLock.unlock();
        }
    }

    /** Adds a data key version that seals from now on; records sealed under older versions stay readable. */
    public void rotateDataKey() {
        checkOpen();
        writeLock.lock();
        try {
            checkOpen();
            Keys before = keys;
            Map<Integer, Long> sealsBefore = new HashMap<>(seals);
            Batch batch = new Batch();
            rollDataKey(batch);
            try {
                commitNow(batch);
            } catch (RuntimeException e) {
                keys = before;
                seals.clear();
                seals.putAll(sealsBefore);
                throw e;
            }
        } finally {
            writeLock.unlock();
        }
    }

    private void commitNow(Batch batch) {
        awaitDurable(stage(batch));
    }

    // ---------------------------------------------------------------- operations

    /**
     * Opens every record and checks every index entry in both directions: each entry names a record holding that
     * value, and each indexed value of each record has its entry. Reads the store, never changes it.
     */
    public VerifyReport verify() {
        checkOpen();
        Keys k = keys;
        List<String> problems = new ArrayList<>();
        Map<String, TokenRecord> records = new HashMap<>();
        long[] counts = new long[2];
        try {
            engine.forEachRecord((id, sealed) -> {
                counts[0]++;
                try {
                    records.put(id, open(k, id, sealed));
                } catch (TokenStoreException e) {
                    problems.add("record " + id + " fails authentication");
                }
            });
            for (Field f : Field.INDEXED) {
                Map<ByteBuffer, String> entries = new HashMap<>();
                engine.forEachIndexEntry(f.index, (key, id) -> {
                    counts[1]++;
                    entries.put(ByteBuffer.wrap(key), id);
                    TokenRecord r = records.get(id);
                    if (r == null) {
                        problems.add(f.label + " index entry names record " + id + ", which is absent or damaged");
                    } else if (r.get(f) == null
                            || !Arrays.equals(key, k.blindIndex().compute(f.index, r.get(f)))) {
                        problems.add(f.label + " index entry for record " + id + " does not match the record");
                    }
                });
                for (TokenRecord r : records.values()) {
                    String v = r.get(f);
                    if (v != null) {
                        String named = entries.get(ByteBuffer.wrap(k.blindIndex().compute(f.index, v)));
                        if (!r.id().equals(named)) {
                            problems.add("record " + r.id() + " has no " + f.label + " index entry");
                        }
                    }
                }
            }
        } catch (EngineException e) {
            throw translate(e);
        }
        return new VerifyReport(counts[0], counts[1], problems);
    }

    /** Counters: records, key versions and their seals, cache hit rate. */
    public VaultStats stats() {
        checkOpen();
        Map<Integer, Long> perVersion;
        writeLock.lock();
        try {
            perVersion = new TreeMap<>(seals);
        } finally {
            writeLock.unlock();
        }
        long records;
        try {
            records = engine.size();
        } catch (EngineException e) {
            throw translate(e);
        }
        double hitRate = cache == null ? 0.0 : cache.stats().hitRate();
        long size = cache == null ? 0 : cache.estimatedSize();
        return new VaultStats(records, keys.keyring().currentVersion(), perVersion, hitRate, size);
    }

    /** Makes every change durable, releases the store and its lock, and wipes the keys. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        writeLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            invalidateAll();
            try {
                engine.close();
            } catch (EngineException e) {
                throw translate(e);
            } finally {
                Keys k = keys;
                if (k != null) {
                    k.blindIndex().close();
                    k.keyring().destroy();
                }
                if (wrapKey != null) {
                    wrapKey.destroy();
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- helpers

    private long stage(Batch batch) {
        try {
            return engine.stage(batch);
        } catch (EngineException e) {
            invalidateAll();
            throw translate(e);
        }
    }

    private void awaitDurable(long ticket) {
        try {
            engine.awaitDurable(ticket);
        } catch (EngineException e) {
            // The commit failed and the engine went back to its last durable state: forget what readers cached.
            invalidateAll();
            throw translate(e);
        }
    }

    /** Forgets every cached lookup, including loads in flight; call after the change is applied. */
    private void invalidateAll() {
        if (cache != null) {
            cacheEpoch.incrementAndGet();
            cache.invalidateAll();
        }
    }

    private void invalidate(TokenRecord r) {
        if (cache == null || r == null) {
            return;
        }
        cache.invalidate(new LookupKey(Field.ID, r.id()));
        for (Field f : Field.INDEXED) {
            String v = r.get(f);
            if (v != null) {
                cache.invalidate(new LookupKey(f, v));
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new TokenStoreException(ErrorCode.CLOSED, "the store " + where + " is closed");
        }
    }

    private static String checkedId(String id) {
        if (id == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "id must not be null");
        }
        TokenRecord.validateId(id);
        return id;
    }

    private static TokenStoreException notFound(String id) {
        return new TokenStoreException(ErrorCode.NOT_FOUND, "no token with id " + id);
    }

    /** 128 random bits as 32 lowercase hex digits: URL-safe, and never mistaken for a command-line option. */
    private String newId() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private TokenStoreException translate(EngineException e) {
        ErrorCode code = switch (e.kind()) {
            case IO -> ErrorCode.IO;
            case LOCKED -> ErrorCode.LOCKED;
            case CORRUPT -> ErrorCode.CORRUPT;
            case CLOSED -> ErrorCode.CLOSED;
        };
        return new TokenStoreException(code, e.getMessage(), e);
    }

    @Override
    public String toString() {
        return "TokenVault[" + where + (closed ? ", closed]" : "]");
    }

    // ---------------------------------------------------------------- builder

    /**
     * Configures and opens a {@link TokenVault}. Exactly one of {@link #path} or {@link #inMemory} and a
     * {@link #masterKey} are required; impossible values are rejected when set.
     */
    public static final class Builder {
        private Path path;
        private boolean inMemory;
        private MasterKey masterKey;
        private long cacheMaximumSize = 10_000;
        private Duration cacheExpireAfterWrite = Duration.ofMinutes(10);
        private Clock clock = Clock.systemUTC();
        private long sealLimit = DEFAULT_SEAL_LIMIT;

        private Builder() {
        }

        /** The store file; created with its keys when absent. Companion files sit beside it. */
        public Builder path(Path path) {
            if (path == null) {
                throw invalid("path must not be null");
            }
            this.path = path;
            return this;
        }

        /** A store in memory, gone at close; the same code as a file store. */
        public Builder inMemory() {
            this.inMemory = true;
            return this;
        }

        /** The master key; the vault derives its own keys, so the caller may destroy it after {@link #open()}. */
        public Builder masterKey(MasterKey masterKey) {
            if (masterKey == null) {
                throw invalid("masterKey must not be null");
            }
            this.masterKey = masterKey;
            return this;
        }

        /** Most cached lookups (default 10,000); {@code 0} turns the cache off. */
        public Builder cacheMaximumSize(long cacheMaximumSize) {
            if (cacheMaximumSize < 0) {
                throw invalid("cacheMaximumSize must not be negative");
            }
            this.cacheMaximumSize = cacheMaximumSize;
            return this;
        }

        /** How long a cached lookup lives after it was loaded (default 10 minutes). */
        public Builder cacheExpireAfterWrite(Duration cacheExpireAfterWrite) {
            if (cacheExpireAfterWrite == null) {
                throw invalid("cacheExpireAfterWrite must not be null");
            }
            if (cacheExpireAfterWrite.isNegative() || cacheExpireAfterWrite.isZero()) {
                throw invalid("cacheExpireAfterWrite must be positive");
            }
            this.cacheExpireAfterWrite = cacheExpireAfterWrite;
            return this;
        }

        /** The clock the cache's expiry follows (default: the system clock). */
        public Builder clock(Clock clock) {
            if (clock == null) {
                throw invalid("clock must not be null");
            }
            this.clock = clock;
            return this;
        }

        /** Test seam: seals per data key before a new version begins. */
        Builder sealLimit(long sealLimit) {
            if (sealLimit < 1) {
                throw invalid("sealLimit must be positive");
            }
            this.sealLimit = sealLimit;
            return this;
        }

        /**
         * Opens (or creates) the store.
         *
         * @throws TokenStoreException {@code INVALID_ARGUMENT} for a missing or contradictory setting,
         *         {@code WRONG_KEY}, {@code LOCKED}, {@code CORRUPT}, {@code UNSUPPORTED_FORMAT} or {@code IO}
         */
        public TokenVault open() {
            if (path != null && inMemory) {
                throw invalid("set either path or inMemory, not both");
            }
            if (path == null && !inMemory) {
                throw invalid("a path or inMemory() is required");
            }
            if (masterKey == null) {
                throw invalid("masterKey is required");
            }
            if (masterKey.isDestroyed()) {
                throw invalid("masterKey was destroyed");
            }
            RecordEngine engine;
            try {
                engine = inMemory ? MapDbEngine.inMemory(Field.INDEXED.length)
                        : MapDbEngine.open(path, Field.INDEXED.length);
            } catch (EngineException e) {
                throw new TokenStoreException(switch (e.kind()) {
                    case LOCKED -> ErrorCode.LOCKED;
                    case CORRUPT -> ErrorCode.CORRUPT;
                    default -> ErrorCode.IO;
                }, e.getMessage(), e);
            }
            Cache<LookupKey, Cached> cache = null;
            if (cacheMaximumSize > 0) {
                Clock c = clock;
                cache = Caffeine.newBuilder()
                        .maximumSize(cacheMaximumSize)
                        .expireAfterWrite(cacheExpireAfterWrite)
                        .ticker(() -> c.millis() * 1_000_000L)
                        .recordStats()
                        .build();
            }
            String where = inMemory ? "in-memory store" : path.toString();
            TokenVault vault = new TokenVault(engine, where, cache, sealLimit);
            try {
                vault.unlock(masterKey);
                return vault;
            } catch (RuntimeException e) {
                try {
                    engine.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                if (e instanceof EngineException ee) {
                    throw vault.translate(ee);
                }
                throw e;
            }
        }

        private static TokenStoreException invalid(String message) {
            return new TokenStoreException(ErrorCode.INVALID_ARGUMENT, message);
        }
    }

}
