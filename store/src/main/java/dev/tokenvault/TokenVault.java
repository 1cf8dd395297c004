package dev.tokenvault;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.crypto.KeyCheck;
import dev.tokenvault.crypto.KeyHierarchy;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.RecordSeal;
import dev.tokenvault.crypto.SealCount;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
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
    /** Test seam for the commit path ({@link Builder#commitProbe}); {@link CommitProbe#NONE} otherwise. */
    private final CommitProbe probe;
    // guarded by writeLock: the ticket of the last batch staged, so that the combiner knows whether a failed write
    // had already staged its batch
    private long stagedTicket;
    /** Set when a write's outcome could not be told apart; every later call reports it. */
    private volatile TokenStoreException stopped;

    private volatile boolean closed;
    private volatile Keys keys;
    // the current keyring wrap key, kept so that data-key rotation needs no master key; guarded by writeLock
    private SecretBytes wrapKey;
    // authenticates the seal counts under a key derived from wrapKey; guarded by writeLock
    private SealCount sealCount;
    // guarded by writeLock
    private final Map<Integer, Long> seals = new HashMap<>();
    /** Held by the operations that rewrite the whole store: resealAll, rotateIndexKey, repair, compact. */
    private final ReentrantLock maintenanceLock = new ReentrantLock();
    // guarded by writeLock: while non-null, every write also updates this index generation
    private IndexBuild indexBuild;
    // guarded by writeLock: keys replaced by a rotation, which readers may still hold; wiped at close
    private final List<Runnable> retired = new ArrayList<>();
    // guarded by writeLock: the key state the engine holds (staged or durable) while a write action runs
    private KeySavepoint savepoint;

    /**
     * Keys derived at open; replaced whole on rotation. {@code indexGeneration} is the engine's index generation that
     * {@code blindIndex} computed.
     */
    private record Keys(StoreHeader header, Keyring keyring, BlindIndex blindIndex, int indexGeneration) { }

    /** An index generation being built beside the current one, and the blind index it is built with. */
    private record IndexBuild(int generation, BlindIndex blindIndex) { }

    /**
     * The key state that the engine holds: what a write puts back when its batch is abandoned before staging, so
     * that no later seal uses a data key version that no committed keyring holds.
     */
    private record KeySavepoint(Keys keys, Map<Integer, Long> seals) { }

    /** A cache key: the value may be a token, so {@link #toString()} names only the field. */
    private record LookupKey(Field field, String value) {
        @Override
        public String toString() {
            return "LookupKey[" + field + "]";
        }
    }

    private record Cached(TokenRecord record, long epoch) { }

    private TokenVault(RecordEngine engine, String where, Cache<LookupKey, Cached> cache, long sealLimit,
                       CommitProbe probe) {
        this.engine = engine;
        this.where = where;
        this.cache = cache;
        this.sealLimit = sealLimit;
        this.probe = probe;
    }

    /** The entry point: {@code TokenVault.builder().path(p).masterKey(k).open()}. */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- open

    private void unlock(MasterKey masterKey) {
        byte[] headerBytes = engine.getMeta(META_HEADER);
        if (headerBytes == null) {
            if (!isBlank()) {
                // initialising would overwrite the keyring and make every existing record unreadable for good
                throw new TokenStoreException(ErrorCode.CORRUPT, where + " has records, keys or index entries but"
                        + " no store header; it is not initialised again");
            }
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
        sealCount = new SealCount(wrapKey, header.storeId);
        int newest = java.util.Collections.max(keyring.dataKeys().keySet());
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

    /** Whether the store holds nothing at all: no record, keyring, key check, seal count or index entry. */
    private boolean isBlank() {
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
        byte[] storeId = new byte[32];
        random.nextBytes(storeId);
        StoreHeader header = StoreHeader.create(storeId, masterKey, random);
        Keyring keyring = Keyring.generate(random);
        Batch batch = new Batch();
        SecretBytes newWrapKey = putKeyMeta(batch, header, keyring, masterKey);
        wrapKey = newWrapKey;
        sealCount = new SealCount(wrapKey, storeId);
        batch.putMeta(META_SEALS + 1, sealCount.encode(1, 0));
        engine.commit(batch);
        seals.put(1, 0L);
        keys = new Keys(header, keyring, new BlindIndex(keyring.indexKey(), Field.indexLabels()),
                engine.indexGeneration());
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
        ContentBranch branch = ContentBranch.of(q);
        if (branch != ContentBranch.NONE) {
            return selectByContent(q, branch, this::lookup);
        }
        String id = q.id();
        return id == null ? null : lookup(Field.ID, id);
    }

    /** Which of the contract's branches 1 to 3 applies to a query; the conditions are written here only. */
    private enum ContentBranch {
        USER_NAME, ACCESS_TOKEN, GRANT_OR_REFRESH, NONE;

        static ContentBranch of(TokenRecord q) {
            boolean clientId = q.get(Field.CLIENT_ID) != null;
            boolean clientSecret = q.get(Field.CLIENT_SECRET) != null;
            if (q.get(Field.USER_NAME) != null) {
                return USER_NAME;
            }
            if (q.get(Field.ACCESS_TOKEN) != null && !clientId && !clientSecret) {
                return ACCESS_TOKEN;
            }
            if ((q.get(Field.GRANT_TOKEN) != null || q.get(Field.REFRESH_TOKEN) != null) && clientId && clientSecret) {
                return GRANT_OR_REFRESH;
            }
            return NONE;
        }
    }

    /** Reads one record by field and value; readers go through the cache, writers through a {@link WriteView}. */
    @FunctionalInterface
    private interface Lookup {
        TokenRecord find(Field field, String value);
    }

    /** Branches 1 to 3; {@code null} when none applies or the one that applies matches nothing. */
    private static TokenRecord selectByContent(TokenRecord q, ContentBranch branch, Lookup lookup) {
        switch (branch) {
            case USER_NAME:
                return lookup.find(Field.USER_NAME, q.get(Field.USER_NAME));
            case ACCESS_TOKEN:
                return lookup.find(Field.ACCESS_TOKEN, q.get(Field.ACCESS_TOKEN));
            case GRANT_OR_REFRESH:
                TokenRecord byGrant = q.get(Field.GRANT_TOKEN) == null ? null
                        : lookup.find(Field.GRANT_TOKEN, q.get(Field.GRANT_TOKEN));
                if (byGrant != null || q.get(Field.REFRESH_TOKEN) == null) {
                    return byGrant;
                }
                return lookup.find(Field.REFRESH_TOKEN, q.get(Field.REFRESH_TOKEN));
            default:
                return null;
        }
    }

    /** The record whose {@code field} is {@code value}, through the cache when it is on. */
    /** Loads a cache miss, tagged with the cache epoch it started in; one instance, so a hit allocates nothing. */
    private final java.util.function.Function<LookupKey, Cached> loader = k -> {
        long epoch = cacheEpoch.get();
        TokenRecord r = load(k.field(), k.value());
        return r == null ? null : new Cached(r, epoch);
    };

    private TokenRecord lookup(Field field, String value) {
        if (cache == null) {
            return load(field, value);
        }
        // A load runs inside the cache's per-key computation, so a writer's invalidation of this key waits for it
        // and then removes what it loaded: no stale value survives a write. A cache-wide invalidation does not wait
        // for loads, hence the epoch check.
        LookupKey key = new LookupKey(field, value);
        while (true) {
            Cached c = cache.get(key, loader);
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
            RecordEngine.Entry entry = indexLookup(field, value);
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

    /**
     * Reads the index entry of {@code value} with the current blind index. An index-key rotation or repair switches
     * the engine's generation and then this vault's keys; a lookup that falls between the two waits for the keys.
     */
    private RecordEngine.Entry indexLookup(Field field, String value) {
        long deadline = 0;
        for (int spins = 0; ; spins++) {
            Keys k = keys;
            RecordEngine.Entry entry = engine.getByIndex(k.indexGeneration(), field.index,
                    k.blindIndex().compute(field.index, value));
            if (entry != RecordEngine.GENERATION_CHANGED) {
                return entry;
            }
            checkOpen();
            if (spins < 100) {
                Thread.onSpinWait();
                continue;
            }
            if (deadline == 0) {
                deadline = System.nanoTime() + 10_000_000_000L;
            } else if (System.nanoTime() - deadline > 0) {
                throw new TokenStoreException(ErrorCode.IO, "the index of " + where
                        + " changed generation and this vault's keys did not follow");
            }
            LockSupport.parkNanos(this, 50_000L);
        }
    }

    private TokenRecord open(Keys k, String id, byte[] sealed) {
        try {
            int version = RecordSeal.keyVersion(sealed);
            SecretBytes dataKey = k.keyring().dataKey(version);
            if (dataKey == null) {
                // sealed under a version made after the caller read its keys (a rotation or a seal-limit rollover)
                dataKey = keys.keyring().dataKey(version);
            }
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
        checkOpen();
        if (token == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "token must not be null");
        }
        saveTokens(List.of(token));
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
        indexChanges(batch, existing, merged);
        view.replace(existing, merged);
        return merged;
    }

    /**
     * Adds the index changes from {@code old} to {@code now} (either may be null) to {@code batch}: in the current
     * generation, and in the generation being built, if any, so that a build running beside writes stays exact.
     * Under the write lock.
     */
    private void indexChanges(Batch batch, TokenRecord old, TokenRecord now) {
        Keys k = keys;
        IndexBuild build = indexBuild;
        for (Field f : Field.INDEXED) {
            String before = old == null ? null : old.get(f);
            String after = now == null ? null : now.get(f);
            if (before != null && !before.equals(after)) {
                batch.removeIndex(f.index, k.blindIndex().compute(f.index, before));
                if (build != null) {
                    batch.removeIndexIn(build.generation(), f.index, build.blindIndex().compute(f.index, before));
                }
            }
            if (after != null && !after.equals(before)) {
                batch.putIndex(f.index, k.blindIndex().compute(f.index, after), now.id());
                if (build != null) {
                    batch.putIndexIn(build.generation(), f.index, build.blindIndex().compute(f.index, after), now.id());
                }
            }
        }
    }

    /** Row selection for a save: (a) by id, (b) branches 1 to 3, (c) a record holding one of the tokens. */
    private static TokenRecord selectForSave(WriteView view, TokenRecord in) {
        if (in.id() != null) {
            return view.find(Field.ID, in.id());
        }
        TokenRecord byContent = selectByContent(in, ContentBranch.of(in), view);
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
            batch.putMeta(META_SEALS + version, sealCount.encode(version, count + 1));
            return sealed;
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Adds a data key version to the keyring in {@code batch}. The new keys are published at once, because readers
     * need them for the records this batch stages; a write whose batch is abandoned before it is staged puts the
     * previous keys back ({@link #keyStateUndoneOnFailure}), and a commit that fails reloads them from the engine
     * ({@link #reloadKeyState}).
     */
    private Keys rollDataKey(Batch batch) {
        Keys k = keys;
        Keyring next = k.keyring().withNewDataKey(random);
        byte[] wrapped = next.wrap(wrapKey, k.header().storeId, random);
        batch.putMeta(META_KEYRING, wrapped)
                .putMeta(META_SEALS + next.currentVersion(), sealCount.encode(next.currentVersion(), 0));
        seals.put(next.currentVersion(), 0L);
        Keys updated = new Keys(k.header(), next, k.blindIndex(), k.indexGeneration());
        keys = updated;
        return updated;
    }

    @Override
    public void deleteToken(String id) {
        checkOpen();
        String checked = checkedId(id);
        write(() -> {
            TokenRecord existing;
            try {
                existing = load(Field.ID, checked);
            } catch (TokenStoreException e) {
                if (e.code() != ErrorCode.INTEGRITY) {
                    throw e;
                }
                return stage(removalOfDamaged(checked));
            }
            if (existing == null) {
                throw notFound(checked);
            }
            Batch batch = new Batch().removeRecord(checked);
            indexChanges(batch, existing, null);
            long ticket = stage(batch);
            invalidate(existing);
            return ticket;
        });
    }

    /**
     * A record that fails authentication cannot tell which index entries are its own, so they are found by the id
     * they name (a scan of the index maps: rare, and only on this path). Removing it is how an operator clears a
     * damaged record without {@link #deleteTokens()}.
     */
    private Batch removalOfDamaged(String id) {
        Batch batch = new Batch().removeRecord(id);
        try {
            for (Field f : Field.INDEXED) {
                engine.forEachIndexEntry(f.index, (key, named) -> {
                    if (id.equals(named)) {
                        batch.removeIndex(f.index, key);
                    }
                });
            }
        } catch (EngineException e) {
            throw translate(e);
        }
        invalidateAll(); // its values are unknown, so are the cache keys that might name it
        return batch;
    }

    @Override
    public List<OAuthToken> getTokens() {
        checkOpen();
        Keys k = keys;
        List<OAuthToken> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        try {
            engine.forEachRecord((id, sealed) -> {
                if (!seen.add(id)) {
                    throw listedTwice(id);
                }
                out.add(open(k, id, sealed).toToken());
            });
        } catch (EngineException e) {
            throw translate(e);
        }
        return out;
    }

    /** A hash map that yields a key twice: a damaged node repeats a leaf. The data is right, the structure is not. */
    private TokenStoreException listedTwice(String id) {
        return new TokenStoreException(ErrorCode.CORRUPT, "the records map of " + where + " lists record " + id
                + " twice: the file's structure is damaged (compact() rewrites it)");
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
        PendingWrite w = new PendingWrite(() -> keyStateUndoneOnFailure(action));
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
                // The combiner that serves us unparks us, and the one that unlocks wakes the queue's head; the
                // timeout is only a safety net, long enough that many waiting writers do not spin.
                LockSupport.parkNanos(this, 10_000_000L);
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

    /**
     * Under the write lock: run the queued writes, one durable commit for all, then release their callers. Whatever
     * fails, and however (an {@code Error} too), every caller is released, and a caller told its write failed can
     * rely on it: its batch never commits.
     */
    private void combine() {
        List<PendingWrite> group = new ArrayList<>();
        try {
            long last = 0;
            boolean discard = false;
            for (PendingWrite w; group.size() < 512 && (w = writeQueue.poll()) != null; ) {
                group.add(w);
                long stagedBefore = stagedTicket;
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
                // staged, then failed: its caller hears of a failure, so the batch must not commit with the group
                discard |= w.failure != null && stagedTicket != stagedBefore;
            }
            if (discard) {
                engine.discardStaged("the change was not saved: a write of the same group commit failed");
                invalidateAll();
            }
            boolean failed = discard;
            if (last > 0) {
                probe.reached("vault.commit");
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
        } catch (RuntimeException | Error e) {
            settleAfter(e, group);
        } finally {
            for (PendingWrite w : group) {
                w.done = true;
                LockSupport.unpark(w.waiter);
            }
        }
    }

    /**
     * After {@code failure} broke off {@link #combine()} half-way: discards what the group staged and has not
     * committed, then asks the engine which of its writes are durable. When even that fails, the outcome of the
     * group cannot be known: the vault stops using the store, and every later call says to reopen it.
     */
    private void settleAfter(Throwable failure, List<PendingWrite> group) {
        try {
            engine.discardStaged("the change was not saved: " + failure);
            invalidateAll();
            for (PendingWrite w : group) {
                if (w.failure == null && w.ticket > 0) {
                    try {
                        engine.awaitDurable(w.ticket);
                    } catch (EngineException e) {
                        w.failure = translate(e);
                    }
                }
            }
            reloadKeyState();
        } catch (RuntimeException | Error again) {
            again.addSuppressed(failure);
            stopped = new TokenStoreException(ErrorCode.IO, "the store " + where + " stopped after a write failed in"
                    + " a way that leaves its outcome unknown (" + again + "); close it and open it again (the redo log"
                    + " brings back its last durable state)", again);
            invalidateAll();
            for (PendingWrite w : group) {
                if (w.failure == null) {
                    w.failure = stopped;
                }
            }
        }
    }

    /**
     * Under the write lock: runs one write action; when it fails before its batch is staged (a {@code CONFLICT} or
     * invalid token later in {@code saveTokens}, an {@code IO} failure while staging, an {@code Error}), the key
     * state goes back to what the engine holds, whatever the failure: a data-key rollover made for the abandoned
     * batch is forgotten, and its new key wiped.
     */
    private long keyStateUndoneOnFailure(LongSupplier action) {
        savepoint = new KeySavepoint(keys, Map.copyOf(seals));
        boolean succeeded = false;
        try {
            long ticket = action.getAsLong();
            succeeded = true;
            return ticket;
        } finally {
            if (!succeeded) {
                restore(savepoint);
            }
            savepoint = null;
        }
    }

    /** Under the write lock: puts back the key state of {@code saved}, wiping the data keys made since. */
    private void restore(KeySavepoint saved) {
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

    /** After a failed commit: the keyring and seal counters as the engine holds them again. */
    private void reloadKeyState() {
        Keys k = keys;
        try {
            Keyring keyring = Keyring.unwrap(engine.getMeta(META_KEYRING), wrapKey, k.header().storeId);
            loadSeals(keyring);
            keys = new Keys(k.header(), keyring, k.blindIndex(), engine.indexGeneration());
            retired.add(k.keyring()::destroy); // readers may still hold the replaced keyring; wiped at close
        } catch (AEADBadTagException | RuntimeException e) {
            // The engine is unusable; every later call reports its own error.
        }
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
            SealCount newSealCount = new SealCount(newWrapKey, header.storeId);
            // the counts are authenticated under the wrap key: re-authenticated in the same commit
            seals.forEach((version, count) -> batch.putMeta(META_SEALS + version, newSealCount.encode(version, count)));
            try {
                commitNow(batch);
            } catch (RuntimeException e) {
                newSealCount.close();
                newWrapKey.destroy();
                throw e;
            }
            wrapKey.destroy();
            wrapKey = newWrapKey;
            sealCount.close();
            sealCount = newSealCount;
            keys = new Keys(header, k.keyring(), k.blindIndex(), k.indexGeneration());
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
            KeySavepoint before = new KeySavepoint(keys, Map.copyOf(seals));
            Batch batch = new Batch();
            rollDataKey(batch);
            try {
                commitNow(batch);
            } catch (RuntimeException e) {
                restore(before); // wipes the new data key
                throw e;
            }
        } finally {
            writeLock.unlock();
        }
    }

    /** Records moved to the current data key, or entries rebuilt, per commit of {@link #resealAll} and index builds. */
    static final int MAINTENANCE_BATCH = 1_000;

    /**
     * Moves every record to the current data key version, then removes from the keyring the data keys that no record
     * uses any more (all but the current version) and their seal counters. Use it after {@link #rotateDataKey()} to
     * retire a data key, e.g. one that may have leaked: once this returns, the store no longer holds that key.
     *
     * <p>Works in commits of {@value #MAINTENANCE_BATCH} records through the same write path as saves, so other calls
     * keep working throughout; each record is read again inside its commit, so a concurrent save is never overwritten
     * with older data. A crash leaves every record readable (under its old or its new version); call again to finish.
     * The key removal is one atomic commit that first reads the header of every record. Memory: the ids of the
     * records still to move (about 100 bytes each).
     *
     * @return what moved and what was removed; records that fail authentication are listed and keep their version
     *         (and so their key)
     * @throws TokenStoreException {@code IO} when a commit fails (the records moved before it stay moved),
     *         {@code CLOSED}
     */
    public ResealReport resealAll() {
        checkOpen();
        maintenanceLock.lock();
        try {
            checkOpen();
            int target = keys.keyring().currentVersion();
            List<String> ids = new ArrayList<>();
            try {
                engine.forEachRecord((id, sealed) -> {
                    if (versionOf(sealed) != target) {
                        ids.add(id);
                    }
                });
            } catch (EngineException e) {
                throw translate(e);
            }
            long[] resealed = new long[1];
            List<String> problems = new ArrayList<>();
            for (int from = 0; from < ids.size(); from += MAINTENANCE_BATCH) {
                List<String> chunk = ids.subList(from, Math.min(ids.size(), from + MAINTENANCE_BATCH));
                long[] moved = new long[1];
                List<String> failed = new ArrayList<>();
                write(() -> {
                    moved[0] = 0;
                    failed.clear();
                    Batch batch = new Batch();
                    for (String id : chunk) {
                        byte[] sealed = engine.get(id);
                        if (sealed == null || versionOf(sealed) == keys.keyring().currentVersion()) {
                            continue; // deleted, or saved again since the scan
                        }
                        TokenRecord r;
                        try {
                            r = open(keys, id, sealed);
                        } catch (TokenStoreException e) {
                            failed.add("record " + id + " fails authentication; it keeps its key version");
                            continue;
                        }
                        batch.putRecord(id, seal(r, batch)); // same plaintext: index entries and cache stay valid
                        moved[0]++;
                    }
                    return batch.isEmpty() ? 0 : stage(batch);
                });
                resealed[0] += moved[0];
                problems.addAll(failed);
            }
            List<Integer> removed = new ArrayList<>();
            write(() -> {
                removed.clear();
                Keys k = keys;
                Map<Integer, Long> used = recordsPerKeyVersion();
                List<Integer> unused = new ArrayList<>();
                for (Integer v : k.keyring().dataKeys().keySet()) {
                    if (v != k.keyring().currentVersion() && !used.containsKey(v)) {
                        unused.add(v);
                    }
                }
                if (unused.isEmpty()) {
                    return 0;
                }
                Keyring next = k.keyring().withoutDataKeys(unused);
                Batch batch = new Batch().putMeta(META_KEYRING, next.wrap(wrapKey, k.header().storeId, random));
                for (Integer v : unused) {
                    batch.removeMeta(META_SEALS + v);
                }
                long ticket = stage(batch);
                keys = new Keys(k.header(), next, k.blindIndex(), k.indexGeneration());
                for (Integer v : unused) {
                    seals.remove(v);
                    SecretBytes old = k.keyring().dataKey(v);
                    retired.add(old::destroy); // a reader may still hold the old keys; wiped at close
                }
                removed.addAll(unused);
                return ticket;
            });
            return new ResealReport(resealed[0], keys.keyring().currentVersion(), removed, problems);
        } finally {
            maintenanceLock.unlock();
        }
    }

    /**
     * Replaces the index key with a new random one and rebuilds every blind index under it, atomically: for an index
     * key that may have leaked (with it and the file, an attacker can test guessed user names and tokens against the
     * index).
     *
     * <p>The new index is built as a new index generation beside the current one, in commits of
     * {@value #MAINTENANCE_BATCH} records, invisible to readers; saves and deletes during the build update both
     * generations in their own commits. One small commit then makes the new generation current and stores the keyring
     * with the new index key; the old generation is emptied afterwards in bounded commits. Readers and writers keep
     * working throughout, and after the switch every lookup uses the new key. A crash before the switch leaves the old
     * key and index, a crash after it the new ones; the unfinished or old generation is emptied at the next open.
     * The cache holds lookups by value, not by index key, and stays valid. Memory: every record id (about 100 bytes
     * each); writers wait while the ids are listed at the start (one pass over the records).
     *
     * @throws TokenStoreException {@code INTEGRITY} when a record fails authentication or two records hold the same
     *         indexed value (the store is unchanged; see {@link #repair()}), {@code IO} when a commit fails (the store
     *         is unchanged), {@code CLOSED}
     */
    public void rotateIndexKey() {
        checkOpen();
        maintenanceLock.lock();
        try {
            checkOpen();
            Keyring draft = keys.keyring().withNewIndexKey(random);
            BlindIndex target = new BlindIndex(draft.indexKey(), Field.indexLabels());
            boolean done = false;
            try {
                List<String> problems = new ArrayList<>();
                long[] indexed = new long[1];
                int generation = buildIndex(target, true, problems, indexed);
                switchIndex(generation, target, draft);
                done = true;
            } finally {
                if (!done) {
                    target.close();
                    draft.indexKey().destroy(); // only the new index key: the data keys are shared
                }
            }
        } finally {
            maintenanceLock.unlock();
        }
    }

    /**
     * Rebuilds the index maps from the records when {@link #verify()} finds a problem, with the same index key and
     * the same machinery as {@link #rotateIndexKey()} (bounded commits, one atomic switch, other calls keep working).
     * Records that fail authentication are reported and left out of the index, never guessed at; so are records that
     * hold the same indexed value as another (neither is indexed by it). Does nothing when {@code verify()} is clean.
     *
     * @return the verification before, whether the index was rebuilt, and what could not be indexed
     * @throws TokenStoreException {@code CORRUPT} when the records themselves cannot be read, {@code IO}, {@code CLOSED}
     */
    public RepairReport repair() {
        checkOpen();
        maintenanceLock.lock();
        try {
            checkOpen();
            VerifyReport before;
            try {
                before = verify();
            } catch (TokenStoreException e) {
                if (e.code() != ErrorCode.CORRUPT) {
                    throw e;
                }
                before = new VerifyReport(0, 0, List.of("the index maps cannot be read: " + e.getMessage()));
            }
            if (before.isClean()) {
                return new RepairReport(before, false, 0, List.of());
            }
            BlindIndex target = new BlindIndex(keys.keyring().indexKey(), Field.indexLabels());
            boolean done = false;
            try {
                List<String> problems = new ArrayList<>();
                long[] indexed = new long[1];
                int generation = buildIndex(target, false, problems, indexed);
                switchIndex(generation, target, null);
                done = true;
                return new RepairReport(before, true, indexed[0], problems);
            } finally {
                if (!done) {
                    target.close();
                }
            }
        } finally {
            maintenanceLock.unlock();
        }
    }

    /**
     * Builds a new index generation under {@code target} from every record, in bounded commits through the write
     * path; from the moment the record ids are listed, every write also updates the new generation. Under the
     * maintenance lock. On failure the new generation is discarded and the exception thrown.
     *
     * @param strict throw {@code INTEGRITY} at the first record that cannot be indexed, instead of listing it
     * @return the new generation, complete, still to be switched to by {@link #switchIndex}
     */
    private int buildIndex(BlindIndex target, boolean strict, List<String> problems, long[] indexed) {
        int generation;
        List<String> ids = new ArrayList<>();
        writeLock.lock();
        try {
            checkOpen();
            generation = engine.nextIndexGeneration();
            listRecordIds(ids, strict, problems);
            indexBuild = new IndexBuild(generation, target);
        } catch (EngineException e) {
            throw translate(e);
        } finally {
            writeLock.unlock();
        }
        boolean built = false;
        try {
            // blind keys that two records share: neither record is indexed by them
            List<java.util.Set<ByteBuffer>> shared = new ArrayList<>();
            for (int i = 0; i < Field.INDEXED.length; i++) {
                shared.add(new java.util.HashSet<>());
            }
            for (int from = 0; from < ids.size(); from += MAINTENANCE_BATCH) {
                List<String> chunk = ids.subList(from, Math.min(ids.size(), from + MAINTENANCE_BATCH));
                List<String> found = new ArrayList<>();
                long[] count = new long[1];
                write(() -> {
                    found.clear();
                    count[0] = 0;
                    Batch batch = new Batch();
                    List<Map<ByteBuffer, String>> planned = new ArrayList<>(); // this batch's entries, per index
                    for (int i = 0; i < Field.INDEXED.length; i++) {
                        planned.add(new HashMap<>());
                    }
                    for (String id : chunk) {
                        byte[] sealed = engine.get(id);
                        if (sealed == null) {
                            continue; // deleted since the listing, with its entries in both generations
                        }
                        TokenRecord r;
                        try {
                            r = open(keys, id, sealed);
                        } catch (TokenStoreException e) {
                            if (strict) {
                                throw new TokenStoreException(ErrorCode.INTEGRITY, "record " + id
                                        + " fails authentication, so it cannot be indexed; the index key is unchanged"
                                        + " (run verify() and repair())");
                            }
                            found.add("record " + id + " fails authentication; it is not indexed");
                            continue;
                        }
                        count[0]++;
                        for (Field f : Field.INDEXED) {
                            String v = r.get(f);
                            if (v == null) {
                                continue;
                            }
                            byte[] key = target.compute(f.index, v);
                            ByteBuffer slot = ByteBuffer.wrap(key);
                            if (shared.get(f.index).contains(slot)) {
                                found.add("record " + id + " holds the same " + f.label
                                        + " as another record; it is not indexed by it");
                                continue;
                            }
                            Map<ByteBuffer, String> mine = planned.get(f.index);
                            String owner = mine.containsKey(slot) ? mine.get(slot)
                                    : engine.getIndex(generation, f.index, key);
                            if (owner != null && !owner.equals(id)) {
                                if (strict) {
                                    throw new TokenStoreException(ErrorCode.INTEGRITY, "records " + owner + " and "
                                            + id + " hold the same " + f.label + "; the index key is unchanged"
                                            + " (run verify() and repair())");
                                }
                                shared.get(f.index).add(slot);
                                batch.removeIndexIn(generation, f.index, key);
                                mine.put(slot, null);
                                found.add("records " + owner + " and " + id + " hold the same " + f.label
                                        + "; neither is indexed by it");
                                continue;
                            }
                            batch.putIndexIn(generation, f.index, key, id);
                            mine.put(slot, id);
                        }
                    }
                    return batch.isEmpty() ? 0 : stage(batch);
                });
                problems.addAll(found);
                indexed[0] += count[0];
            }
            built = true;
            return generation;
        } finally {
            if (!built) {
                writeLock.lock();
                try {
                    indexBuild = null;
                } finally {
                    writeLock.unlock();
                }
                discardGeneration(generation);
            }
        }
    }

    /**
     * The ids of every record, each once. When the records map's structure is damaged part-way, a repair ({@code
     * strict} false) goes on with the ids listed before the damage and says so in {@code problems}; the records past
     * it cannot be reached through the map.
     */
    private void listRecordIds(List<String> ids, boolean strict, List<String> problems) {
        java.util.Set<String> seen = new java.util.LinkedHashSet<>();
        try {
            engine.forEachRecord((id, sealed) -> seen.add(id));
        } catch (EngineException e) {
            if (strict || e.kind() != EngineException.Kind.CORRUPT) {
                throw e;
            }
            problems.add("the records map is damaged after " + seen.size() + " records; records past the damage"
                    + " cannot be listed, so they are not indexed: " + e.getMessage());
        }
        ids.addAll(seen);
    }

    /**
     * One commit: makes {@code generation} (built under {@code target}) current and, when {@code withIndexKey} is
     * given, stores the keyring with its index key; then empties the old generation in bounded commits.
     */
    private void switchIndex(int generation, BlindIndex target, Keyring withIndexKey) {
        int old;
        writeLock.lock();
        try {
            checkOpen();
            Keys k = keys;
            old = k.indexGeneration();
            Keyring keyring = withIndexKey == null ? k.keyring() : k.keyring().withIndexKeyOf(withIndexKey);
            Batch batch = new Batch().switchIndexGeneration(generation);
            if (withIndexKey != null) {
                batch.putMeta(META_KEYRING, keyring.wrap(wrapKey, k.header().storeId, random));
            }
            indexBuild = null;
            long ticket;
            try {
                ticket = stage(batch);
            } catch (RuntimeException e) {
                discardGeneration(generation);
                throw e;
            }
            // readers that see the new generation before these keys wait for them (indexLookup)
            keys = new Keys(k.header(), keyring, target, generation);
            try {
                awaitDurable(ticket);
            } catch (RuntimeException e) {
                keys = k; // the engine went back to the last durable state: the old generation and keyring
                discardGeneration(generation);
                throw e;
            }
            retired.add(k.blindIndex()::close); // readers may still compute with it; wiped at close
            if (withIndexKey != null) {
                retired.add(k.keyring().indexKey()::destroy);
            }
        } finally {
            writeLock.unlock();
        }
        discardGeneration(old);
    }

    /** Empties an index generation that is not current, in bounded commits; what remains is emptied at next open. */
    private void discardGeneration(int generation) {
        try {
            engine.clearIndexGeneration(generation, MAINTENANCE_BATCH * Field.INDEXED.length);
        } catch (EngineException | IllegalArgumentException e) {
            // never read again; the engine empties stale generations when it opens
        }
    }

    /** Records per data key version, from the sealed headers alone; unreadable headers are not counted. */
    private Map<Integer, Long> recordsPerKeyVersion() {
        Map<Integer, Long> out = new TreeMap<>();
        engine.forEachRecord((id, sealed) -> {
            int v = versionOf(sealed);
            if (v >= 0) {
                out.merge(v, 1L, Long::sum);
            }
        });
        return out;
    }

    /** The data key version a sealed record names, or -1 when its header is malformed. */
    private static int versionOf(byte[] sealed) {
        try {
            return RecordSeal.keyVersion(sealed);
        } catch (AEADBadTagException e) {
            return -1;
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
        while (true) {
            Keys k = keys;
            VerifyReport report = verifyWith(k);
            // an index-key rotation or repair that switched generations during the scan: look again
            if (k.indexGeneration() == keys.indexGeneration() && k.indexGeneration() == currentIndexGeneration()) {
                return report;
            }
        }
    }

    private int currentIndexGeneration() {
        try {
            return engine.indexGeneration();
        } catch (EngineException e) {
            throw translate(e);
        }
    }

    /**
     * Reads every record and index entry by iteration, then finds each again by key: the two paths cross different
     * parts of MapDB's structure. A map whose structure is too damaged to read is a problem line (with what was read
     * before the damage), not an exception; so is a record listed twice or found by one path and not the other.
     */
    private VerifyReport verifyWith(Keys k) {
        List<String> problems = new ArrayList<>();
        Map<String, TokenRecord> records = new HashMap<>();
        Map<String, byte[]> sealedById = new HashMap<>();
        long[] counts = new long[2];
        structure(problems, "the records map", () -> engine.forEachRecord((id, sealed) -> {
            counts[0]++;
            if (sealedById.put(id, sealed) != null) {
                problems.add("the records map lists record " + id + " twice (damaged structure)");
                return;
            }
            try {
                records.put(id, open(k, id, sealed));
            } catch (TokenStoreException e) {
                problems.add("record " + id + " fails authentication");
            }
        }), counts[0] + " records were listed before it");
        for (Map.Entry<String, byte[]> e : sealedById.entrySet()) {
            String id = e.getKey();
            structure(problems, "the records map", () -> {
                if (!Arrays.equals(e.getValue(), engine.get(id))) {
                    problems.add("record " + id + " is listed but not found by its id (damaged structure)");
                }
            }, "looking up record " + id);
        }
        for (Field f : Field.INDEXED) {
            Map<ByteBuffer, String> entries = new HashMap<>();
            boolean readable = structure(problems, "the " + f.label + " index map",
                    () -> engine.forEachIndexEntry(f.index, (key, id) -> {
                        counts[1]++;
                        if (entries.put(ByteBuffer.wrap(key), id) != null) {
                            problems.add("the " + f.label + " index map lists an entry for record " + id
                                    + " twice (damaged structure)");
                        }
                        TokenRecord r = records.get(id);
                        if (r == null) {
                            problems.add(f.label + " index entry names record " + id + ", which is absent or damaged");
                        } else if (r.get(f) == null
                                || !Arrays.equals(key, k.blindIndex().compute(f.index, r.get(f)))) {
                            problems.add(f.label + " index entry for record " + id + " does not match the record");
                        }
                    }), "its entries were not all read");
            if (!readable) {
                continue; // every record would lack its entry: the line above says why
            }
            for (TokenRecord r : records.values()) {
                String v = r.get(f);
                if (v == null) {
                    continue;
                }
                byte[] key = k.blindIndex().compute(f.index, v);
                if (!r.id().equals(entries.get(ByteBuffer.wrap(key)))) {
                    problems.add("record " + r.id() + " has no " + f.label + " index entry");
                    continue;
                }
                structure(problems, "the " + f.label + " index map", () -> {
                    if (!r.id().equals(engine.getIndex(k.indexGeneration(), f.index, key))) {
                        problems.add("the " + f.label + " index entry of record " + r.id()
                                + " is listed but not found by lookup (damaged structure)");
                    }
                }, "looking up the entry of record " + r.id());
            }
        }
        return new VerifyReport(counts[0], counts[1], problems);
    }

    /**
     * Runs one read of {@link #verifyWith}; a damaged structure ({@code CORRUPT}) becomes a problem line naming
     * {@code what} and {@code context}, and the method returns false. Other failures are thrown.
     */
    private boolean structure(List<String> problems, String what, Runnable read, String context) {
        try {
            read.run();
            return true;
        } catch (EngineException e) {
            if (e.kind() != EngineException.Kind.CORRUPT) {
                throw translate(e);
            }
            problems.add(what + " is damaged (" + context + "): " + e.getMessage());
            return false;
        }
    }

    /**
     * Rewrites the store file to hold only the live records, index entries and metadata, and swaps the smaller file in
     * atomically. The file never shrinks by itself: every save writes the record anew and MapDB does not reuse all the
     * space it frees (measured at 10,000 tokens: from 1,048 to 1,363 bytes per token over 20 refreshes of every token,
     * and far faster when token lengths vary), so call this from time to time, e.g. at start-up or when
     * {@code Files.size(path)} has doubled since the last compaction. tokenvault never compacts on its own.
     *
     * <p>Blocks every writer and reader for its duration (about as long as reading the whole store) and returns once
     * the new file is durable; the data, the keys and the cache are unchanged. A crash at any moment leaves the old
     * file or the new one, complete; an unfinished copy ({@code PATH.compacting}) is deleted at the next open. It
     * needs free space for a second copy of the live data beside the store. In memory it does nothing.
     *
     * @throws TokenStoreException {@code IO} when the new file cannot be written (for example a full disk: the store
     *         keeps using the old file, unchanged), {@code CLOSED} after {@link #close()}
     */
    public void compact() {
        checkOpen();
        maintenanceLock.lock(); // an index build's uncommitted generation would not survive the copy
        writeLock.lock();
        try {
            checkOpen();
            engine.compact();
            Keys k = keys; // the copy holds the current index maps under a generation of its own
            keys = new Keys(k.header(), k.keyring(), k.blindIndex(), engine.indexGeneration());
        } catch (EngineException e) {
            throw translate(e);
        } finally {
            writeLock.unlock();
            maintenanceLock.unlock();
        }
    }

    /**
     * Counters: records, key versions with their seals and their records, cache hit rate.
     *
     * <p>Cost: {@code recordsPerKeyVersion} comes from reading the 6-byte header of every sealed record (no
     * decryption), so a call reads the whole store: O(records), about as long as {@link #getTokens()} without the
     * decryption. Call it from an admin path, not per request.
     */
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
        Map<Integer, Long> recordsPerVersion;
        try {
            records = engine.size();
            recordsPerVersion = recordsPerKeyVersion();
        } catch (EngineException e) {
            throw translate(e);
        }
        double hitRate = cache == null ? 0.0 : cache.stats().hitRate();
        long size = cache == null ? 0 : cache.estimatedSize();
        return new VaultStats(records, keys.keyring().currentVersion(), perVersion, recordsPerVersion, hitRate, size);
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
                retired.forEach(Runnable::run);
                retired.clear();
                if (wrapKey != null) {
                    wrapKey.destroy();
                }
                if (sealCount != null) {
                    sealCount.close();
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- helpers

    private long stage(Batch batch) {
        long ticket;
        try {
            ticket = engine.stage(batch);
        } catch (EngineException e) {
            invalidateAll();
            throw translate(e);
        }
        stagedTicket = ticket;
        if (savepoint != null) {
            savepoint = new KeySavepoint(keys, Map.copyOf(seals)); // the engine holds this state now
        }
        probe.reached("vault.staged");
        return ticket;
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
        TokenStoreException s = stopped;
        if (s != null) {
            throw new TokenStoreException(s.code(), s.getMessage(), s);
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

    private TokenStoreException translate(EngineException e) {
        return new TokenStoreException(codeOf(e.kind()), e.getMessage(), e);
    }

    private static ErrorCode codeOf(EngineException.Kind kind) {
        return switch (kind) {
            case IO -> ErrorCode.IO;
            case LOCKED -> ErrorCode.LOCKED;
            case CORRUPT -> ErrorCode.CORRUPT;
            case CLOSED -> ErrorCode.CLOSED;
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case UNSUPPORTED_FORMAT -> ErrorCode.UNSUPPORTED_FORMAT;
        };
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
        private java.util.function.UnaryOperator<RecordEngine> engineWrapper = java.util.function.UnaryOperator.identity();
        private boolean createIfMissing = true;
        private CommitProbe probe = CommitProbe.NONE;

        private Builder() {
        }

        /**
         * The store file; created with its keys when absent (unless {@link #createIfMissing createIfMissing(false)}).
         * Companion files sit beside it; keep it in a directory that only its user can write.
         */
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

        /** Test seam: wraps the engine the vault uses, for example to make a staging fail. */
        Builder engineWrapper(java.util.function.UnaryOperator<RecordEngine> wrapper) {
            this.engineWrapper = wrapper;
            return this;
        }

        /**
         * Whether {@link #open()} creates the store when nothing is at {@link #path} (default {@code true}). With
         * {@code false}, {@code open()} only ever opens an existing store: when the path is absent it fails with
         * {@code NOT_FOUND} naming the path, and creates nothing (no store, no companion file). The check and the
         * open are one step under the store's lock, so no other process can slip in between. No effect in memory.
         */
        public Builder createIfMissing(boolean createIfMissing) {
            this.createIfMissing = createIfMissing;
            return this;
        }

        /** Test seam: called at each named step of the commit path, so a test can make that step fail. */
        Builder commitProbe(CommitProbe probe) {
            this.probe = probe;
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
         * Opens (or creates) the store. The file at the path is read and checked before anything is written or
         * created: a file that is not a store keeps every byte and its modification time, and nothing is created
         * beside it.
         *
         * @throws TokenStoreException {@code INVALID_ARGUMENT} for a missing or contradictory setting;
         *         {@code NOT_FOUND} when the store is absent and {@link #createIfMissing createIfMissing(false)};
         *         {@code UNSUPPORTED_FORMAT} for a file that is not a tokenvault store (an empty one included) or
         *         one of a newer format; {@code CORRUPT} for a damaged or cut-short store; {@code IO} for a path that
         *         is not a regular file (a directory, device or FIFO), a companion file that is a symbolic link or
         *         another user's, or a failing file system; {@code WRONG_KEY}; {@code LOCKED}
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
                engine = engineWrapper.apply(inMemory ? MapDbEngine.inMemory(Field.INDEXED.length, probe)
                        : MapDbEngine.open(path, Field.INDEXED.length, createIfMissing, probe));
            } catch (EngineException e) {
                throw new TokenStoreException(e.kind() == EngineException.Kind.CLOSED ? ErrorCode.IO
                        : codeOf(e.kind()), e.getMessage(), e);
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
            TokenVault vault = new TokenVault(engine, where, cache, sealLimit, probe);
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
