package dev.tokenvault;

import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.RecordEngine;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;

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
    /** NIST SP 800-38D allows 2^32 random-nonce seals per key; a new data key begins at 2^30. */
    static final long DEFAULT_SEAL_LIMIT = 1L << 30;
    /**
     * Most tokens one {@link #saveTokens} call takes: its commit is held in memory whole (on a file store about 10 KB
     * a new token: its sealed record and the 2 KB table page each of its index entries rewrites).
     */
    public static final int MAX_TOKENS_PER_SAVE = 10_000;
    /** Most bytes (UTF-8) any field other than the id may hold. */
    public static final int MAX_FIELD_BYTES = TokenRecord.MAX_FIELD_BYTES;
    /** Most characters an id may hold. */
    public static final int MAX_ID_LENGTH = TokenRecord.MAX_ID_LENGTH;
    /** Records moved to the current data key, or entries rebuilt, per commit of {@link #resealAll} and index builds. */
    static final int MAINTENANCE_BATCH = 1_000;

    // The parts, one job each (docs/ARCHITECTURE.md); this class checks arguments, delegates and owns the lifecycle.
    private final RecordEngine engine;
    private final OpenState state;
    private final KeyState keyState;
    private final RecordReader reader;
    private final LookupCache cache;
    private final WritePipeline pipeline;
    private final RecordWriter writer;
    private final Maintenance maintenance;
    private final IndexRebuild rebuild;
    private final RefreshLeases leases; // null unless Builder#refreshSingleFlight
    /** Opened with {@link Builder#readOnly()}: every change fails with {@code READ_ONLY} before it starts. */
    private final boolean readOnly;

    TokenVault(RecordEngine engine, OpenState state, KeyState keyState, SecureRandom random, Builder settings) {
        this.engine = engine;
        this.readOnly = settings.readOnly;
        this.state = state;
        this.keyState = keyState;
        this.reader = new RecordReader(engine, keyState, state);
        this.cache = new LookupCache(settings.cacheMaximumSize, settings.cacheExpireAfterWrite, settings.clock, reader,
                engine.changeFeed());
        this.pipeline = new WritePipeline(engine, keyState, cache, state, settings.probe);
        this.leases = RefreshLeases.of(settings, state, engine, cache, reader);
        this.writer = new RecordWriter(engine, reader, keyState, pipeline, cache, random, leases);
        this.maintenance = new Maintenance(engine, reader, keyState, pipeline, cache, state);
        this.rebuild = new IndexRebuild(engine, reader, keyState, pipeline, writer, maintenance, random);
    }

    /** The entry point: {@code TokenVault.builder().path(p).masterKey(k).open()}. */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- TokenStore

    @Override
    public OAuthToken findToken(OAuthToken query) {
        state.check();
        Query q = Query.of(query);
        Selection.ContentBranch branch = Selection.ContentBranch.of(q);
        q.validateExcept(Selection.lookupField(q, branch)); // the cache checks the lookup value before the store does
        TokenRecord found = leases == null ? Selection.select(q, branch, cache)
                : leases.find(from -> Selection.select(q, branch, from)); // the only cost when off: one field check
        if (found == null) {
            return null;
        }
        found.fillInto(query);
        return query;
    }

    @Override
    public OAuthToken findTokenById(String id) {
        state.check();
        String checked = TokenRecord.nonNullId(id); // the cache checks the id's other rules
        TokenRecord r = leases == null ? cache.find(Field.ID, checked)
                : leases.find(from -> from.find(Field.ID, checked));
        if (r == null) {
            throw Errors.notFound(id);
        }
        return r.toToken();
    }

    @Override
    public void saveToken(OAuthToken token) {
        writable("saveToken");
        if (token == null) {
            throw Errors.invalid("token must not be null");
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
        writable("saveTokens");
        writer.saveTokens(tokens);
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

    /**
     * {@link #validate} plus the rule a save applies when the token creates a record (it matches none): it needs at
     * least one of an access, refresh or grant token. For tools that know their tokens are new, such as an import of
     * records under ids the store does not hold, and report every bad row before writing anything.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} naming the field and the rule
     */
    public static void validateNew(OAuthToken token) {
        Selection.requireTokenForNew(TokenRecord.from(token, "token"));
    }

    @Override
    public void deleteToken(String id) {
        writable("deleteToken");
        writer.delete(TokenRecord.checkedId(id));
    }

    @Override
    public List<OAuthToken> getTokens() {
        state.check();
        return reader.allTokens();
    }

    @Override
    public void deleteTokens() {
        writable("deleteTokens");
        writer.deleteAll();
    }

    // ---------------------------------------------------------------- keys and maintenance

    /**
     * Re-wraps the keyring under {@code newKey} in one atomic commit, O(1) in the number of records. Afterwards only
     * {@code newKey} opens the store. A passphrase key gets a new random salt.
     */
    public void rotateMasterKey(MasterKey newKey) {
        writable("rotateMasterKey");
        if (newKey == null) {
            throw Errors.invalid("newKey must not be null");
        }
        pipeline.exclusive(() -> KeyRotation.rotateMasterKey(keyState, newKey, pipeline::commitNow));
    }

    /** Adds a data key version that seals from now on; records sealed under older versions stay readable. */
    public void rotateDataKey() {
        writable("rotateDataKey");
        pipeline.exclusive(() -> KeyRotation.rotateDataKey(keyState, pipeline::commitNow));
    }

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
        writable("resealAll");
        maintenance.soleNode("resealAll", "it removes data keys that other nodes may still seal with");
        return maintenance.underLock(maintenance::resealAll);
    }

    /**
     * Replaces the index key with a new random one and rebuilds every blind index under it, atomically: for an index
     * key that may have leaked (with it and the file, an attacker can test guessed user names and tokens against the
     * index).
     *
     * <p>The new index is built as a new index generation beside the current one, in commits of
     * {@value #MAINTENANCE_BATCH} records, invisible to readers; saves and deletes during the build update both
     * generations in their own commits. One small commit then makes the new generation current and stores the keyring
     * with the new index key; the old generation is emptied afterwards in bounded batches through the same write path
     * as saves. Readers keep working throughout and writers between the batches of the build and of the emptying, and
     * after the switch every lookup uses the new key. A crash before the switch leaves the old key and index, a crash
     * after it the new ones; the unfinished or old generation is emptied at the next open (as it is when emptying it
     * fails here: the call still succeeds). The cache holds lookups by value, not by index key, and stays valid.
     * Memory: every record id (about 100 bytes each); writers wait while the ids are listed at the start (one pass
     * over the records).
     *
     * @throws TokenStoreException {@code INTEGRITY} when a record fails authentication or two records hold the same
     *         indexed value (the store is unchanged; see {@link #repair()}), {@code IO} when a commit fails (the store
     *         is unchanged), {@code CLOSED}
     */
    public void rotateIndexKey() {
        writable("rotateIndexKey");
        maintenance.soleNode("rotateIndexKey", "other nodes would go on writing index entries under the old index key");
        maintenance.underLock(rebuild::rotateIndexKey);
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
        writable("repair");
        maintenance.soleNode("repair", "other nodes' writes during the rebuild would be missing from the new index");
        return maintenance.underLock(rebuild::repair);
    }

    /**
     * Opens every record and checks every index entry in both directions: each entry names a record holding that
     * value, and each indexed value of each record has its entry. Reads the store, never changes it.
     */
    public VerifyReport verify() {
        state.check();
        return maintenance.verify();
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
        writable("compact");
        maintenance.underLock(maintenance::compact); // an index build's generation would not survive the copy
    }

    /**
     * Counters: records, key versions with their seals and their records, cache hit rate.
     *
     * <p>Cost: {@code recordsPerKeyVersion} comes from reading the 6-byte header of every sealed record (no
     * decryption), so a call reads the whole store: O(records), about as long as {@link #getTokens()} without the
     * decryption. Call it from an admin path, not per request.
     */
    public VaultStats stats() {
        state.check();
        return maintenance.stats(RefreshLeases.statsOf(leases));
    }

    /** Makes every change durable, releases the store and its lock, and wipes the keys. Idempotent. */
    @Override
    public void close() {
        if (state.isClosed()) {
            return;
        }
        pipeline.locked(() -> {
            if (state.isClosed()) {
                return;
            }
            state.markClosed();
            cache.close();
            try {
                if (leases != null) {
                    leases.close(); // before the engine: a shared store's reaper of dead holders' rows uses it
                }
                Errors.run(engine::close);
            } finally {
                keyState.close();
            }
        });
    }

    @Override
    public String toString() {
        return "TokenVault[" + state.where() + (state.isClosed() ? ", closed]" : "]");
    }

    /**
     * Whether this vault was opened with {@link Builder#readOnly()}: then it reads, and every call that would change
     * the store fails with {@code READ_ONLY}.
     */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** Checks the vault is open and may change the store: {@code READ_ONLY} comes before any argument check. */
    private void writable(String operation) {
        state.check();
        if (readOnly) {
            throw Errors.readOnly(state.where(), operation);
        }
    }

    // ---------------------------------------------------------------- builder

    /**
     * Configures and opens a {@link TokenVault}. Exactly one of {@link #path}, {@link #inMemory} or
     * {@link #dataSource} and a {@link #masterKey} are required; impossible values are rejected when set.
     */
    public static final class Builder {
        Path path;
        boolean inMemory;
        DataSource dataSource;
        String tablePrefix;
        MasterKey masterKey;
        long cacheMaximumSize = 10_000;
        Duration cacheExpireAfterWrite = Duration.ofMinutes(10);
        Clock clock = Clock.systemUTC();
        long sealLimit = DEFAULT_SEAL_LIMIT;
        UnaryOperator<RecordEngine> engineWrapper = UnaryOperator.identity();
        boolean createIfMissing = true;
        boolean readOnly;
        CommitProbe probe = CommitProbe.NONE;
        RefreshLeases.Settings refreshSingleFlight;

        private Builder() {
        }

        /**
         * The store file; created with its keys when absent (unless {@link #createIfMissing createIfMissing(false)}
         * or {@link #readOnly()}).
         * Companion files sit beside it; keep it in a directory that only its user can write.
         */
        public Builder path(Path path) {
            if (path == null) {
                throw Errors.invalid("path must not be null");
            }
            this.path = path;
            return this;
        }

        /** A store in memory, gone at close; the same code as a file store. */
        public Builder inMemory() {
            this.inMemory = true;
            return this;
        }

        /**
         * A shared store in a database (MariaDB 10.6+, MySQL 8 or PostgreSQL 13+), which many processes on many
         * machines open at once, instead of a {@link #path} or {@link #inMemory}. The caller brings the pool and the
         * driver, and closes the data source after the vault. The pool needs 1 connection per vault on MariaDB and
         * MySQL, 2 on PostgreSQL (the change feed keeps one listening): a smaller pool is {@code INVALID_ARGUMENT} at
         * open; more let readers run beside a write. The tables are created at the first open, unless
         * {@link #readOnly()} or {@link #createIfMissing createIfMissing(false)} (README, "Shared store").
         */
        public Builder dataSource(DataSource dataSource) {
            if (dataSource == null) {
                throw Errors.invalid("dataSource must not be null");
            }
            this.dataSource = dataSource;
            return this;
        }

        /**
         * The prefix of the shared store's table names (default {@code tokenvault}: {@code tokenvault_records} and so
         * on); several stores can share one database under different prefixes. Only with {@link #dataSource}.
         */
        public Builder tablePrefix(String tablePrefix) {
            if (tablePrefix == null || !VaultOpener.TABLE_PREFIX.matcher(tablePrefix).matches()) {
                throw Errors.invalid("tablePrefix must match " + VaultOpener.TABLE_PREFIX.pattern());
            }
            this.tablePrefix = tablePrefix;
            return this;
        }

        /** The master key; the vault derives its own keys, so the caller may destroy it after {@link #open()}. */
        public Builder masterKey(MasterKey masterKey) {
            if (masterKey == null) {
                throw Errors.invalid("masterKey must not be null");
            }
            this.masterKey = masterKey;
            return this;
        }

        /** Most cached lookups (default 10,000); {@code 0} turns the cache off. */
        public Builder cacheMaximumSize(long cacheMaximumSize) {
            if (cacheMaximumSize < 0) {
                throw Errors.invalid("cacheMaximumSize must not be negative");
            }
            this.cacheMaximumSize = cacheMaximumSize;
            return this;
        }

        /** How long a cached lookup lives after it was loaded (default 10 minutes). */
        public Builder cacheExpireAfterWrite(Duration cacheExpireAfterWrite) {
            if (cacheExpireAfterWrite == null) {
                throw Errors.invalid("cacheExpireAfterWrite must not be null");
            }
            if (cacheExpireAfterWrite.isNegative() || cacheExpireAfterWrite.isZero()) {
                throw Errors.invalid("cacheExpireAfterWrite must be positive");
            }
            this.cacheExpireAfterWrite = cacheExpireAfterWrite;
            return this;
        }

        /** The clock the cache's expiry follows (default: the system clock). */
        public Builder clock(Clock clock) {
            if (clock == null) {
                throw Errors.invalid("clock must not be null");
            }
            this.clock = clock;
            return this;
        }

        /**
         * Refresh single-flight (off by default): when a find selects a record whose {@code expiryTime} is less than
         * {@code window} after the {@link #clock clock}'s time, the first caller gets it with a lease; other finds of
         * it (cache hits too) wait for a save of it, or for the lease to end after {@code maxWait} or with its
         * holder's thread (one of them then gets the record and the next lease), at most 2 x {@code maxWait} in all.
         * {@code window} must equal the client's refresh threshold (Zoho SDK: 5 s): if longer, leases go to callers
         * that will not refresh and the others stall; if shorter, finds in the gap refresh with no lease. README,
         * "Refresh single-flight".
         *
         * @throws TokenStoreException {@code INVALID_ARGUMENT}: null, not positive, a window under 1 ms, over 1 hour
         */
        public Builder refreshSingleFlight(Duration window, Duration maxWait) {
            this.refreshSingleFlight = RefreshLeases.Settings.of(window, maxWait);
            return this;
        }

        /** Test seam: wraps the engine the vault uses, for example to make a staging fail. */
        Builder engineWrapper(UnaryOperator<RecordEngine> wrapper) {
            this.engineWrapper = wrapper;
            return this;
        }

        /**
         * Whether {@link #open()} creates the store when nothing is at {@link #path} (default {@code true}). With
         * {@code false}, {@code open()} only ever opens an existing store: when the path is absent it fails with
         * {@code NOT_FOUND} naming the path, and creates nothing (no store, no companion file). The check and the
         * open are one step under the store's lock, so no other process can slip in between. No effect in memory.
         * With a {@link #dataSource}: {@code NOT_FOUND} when its tables hold no store yet (the tables are created).
         */
        public Builder createIfMissing(boolean createIfMissing) {
            this.createIfMissing = createIfMissing;
            return this;
        }

        /**
         * Opens the existing store at {@link #path} for reading only (not with {@link #inMemory()}). The contract:
         * <ul>
         *   <li>An absent store is {@code NOT_FOUND}, as with {@link #createIfMissing createIfMissing(false)}; one whose
         *       keys were never written (a crash during its creation) too. Nothing is initialised.</li>
         *   <li>No file is created and no byte written: not the store (mapped read-only; bytes and modification time
         *       unchanged), not {@code PATH.redo}, not {@code PATH.lock}. So a 0400 store in a directory the user
         *       cannot write opens.</li>
         *   <li>Reads and the cache work as in a writable vault; every call that would change the store fails with
         *       {@code READ_ONLY} before any argument is checked, and changes nothing.</li>
         *   <li>When {@code PATH.redo} holds changes a crash left out of the file, {@code open()} fails with
         *       {@code READ_ONLY}: open it once with write access, which replays them. Stale data is never read.</li>
         *   <li>Locking: a shared OS lock on {@code PATH.lock}, which writers hold exclusively, so a reader and a
         *       writer exclude each other with {@code LOCKED} (within one process, any second open is {@code LOCKED}).
         *       A lock file that exists but cannot be read is {@code IO}. Without a lock file no writer is running and
         *       none is locked out later; reads during such a writer's commits may fail with {@code CORRUPT}, never
         *       return another record's values (README, "Configuration").</li>
         * </ul>
         */
        public Builder readOnly() {
            this.readOnly = true;
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
                throw Errors.invalid("sealLimit must be positive");
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
         *         {@code NOT_FOUND} when the store is absent and {@link #createIfMissing createIfMissing(false)} or
         *         {@link #readOnly()}; {@code READ_ONLY} for a read-only open of a store whose redo log must be
         *         replayed first;
         *         {@code UNSUPPORTED_FORMAT} for a file that is not a tokenvault store (an empty one included) or
         *         one of a newer format; {@code CORRUPT} for a damaged or cut-short store; {@code IO} for a path that
         *         is not a regular file (a directory, device or FIFO), a companion file that is a symbolic link or
         *         another user's, or a failing file system; {@code WRONG_KEY}; {@code LOCKED}
         */
        public TokenVault open() {
            return VaultOpener.open(this);
        }
    }
}
