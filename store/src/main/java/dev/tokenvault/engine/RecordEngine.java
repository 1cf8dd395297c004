package dev.tokenvault.engine;

import java.util.function.BiConsumer;

/**
 * Storage of opaque sealed records, their blind-index entries and store metadata. The engine never sees plaintext.
 *
 * <p>Reads never observe half of a {@link Batch}. {@link #stage} applies a batch so that later reads see it;
 * {@link #awaitDurable} returns once that batch, and every batch staged before it, survives a crash. Concurrent
 * stagers share one durable commit (group commit). When a commit fails, every batch it covered is discarded and
 * each of their {@code awaitDurable} calls throws.
 */
public interface RecordEngine extends AutoCloseable {

    /** A record and the id it is stored under. */
    record Entry(String id, byte[] sealed) { }

    /** The sealed record with this id, or {@code null}. */
    byte[] get(String id);

    /**
     * Resolves an index entry and reads the record it names, as one consistent read.
     *
     * @return {@code null} when the index has no entry; an entry whose {@code sealed} is {@code null} when the index
     *         names a record that does not exist
     */
    Entry getByIndex(int index, byte[] key);

    /** The id an index entry names, or {@code null}. */
    String getIndex(int index, byte[] key);

    /**
     * Returned by {@link #getByIndex(int, int, byte[])} when the index generation asked for is no longer the current
     * one: the caller's index key is out of date, and it should look again with the current one.
     */
    Entry GENERATION_CHANGED = new Entry("", null);

    /**
     * Index maps come in generations: exactly one is current and serves {@link #getByIndex(int, byte[])}; another can
     * be built beside it in many bounded commits (with {@link Batch#putIndexIn}), invisible to readers, and then made
     * current by one small commit ({@link Batch#switchIndexGeneration}). Entries of a generation that is not current
     * are left over from a switch or from a build that never finished; {@link #clearIndexGeneration} removes them,
     * and an engine may remove them when it opens.
     *
     * @return the current index generation
     */
    int indexGeneration();

    /** A generation number that no index map of this store has used. */
    int nextIndexGeneration();

    /**
     * {@link #getByIndex(int, byte[])} in {@code generation}, as one consistent read; {@link #GENERATION_CHANGED}
     * (compare by identity) when {@code generation} is not the current generation.
     */
    Entry getByIndex(int generation, int index, byte[] key);

    /** The id an entry of {@code generation} (current or not) names, or {@code null}. */
    String getIndex(int generation, int index, byte[] key);

    /**
     * Removes every entry of a generation that is not current, at most {@code maxPerCommit} entries per durable
     * commit, so that no commit grows with the store.
     *
     * @return the number of entries removed
     * @throws IllegalArgumentException when {@code generation} is the current generation
     */
    long clearIndexGeneration(int generation, int maxPerCommit);

    /** A metadata value, or {@code null}. */
    byte[] getMeta(String key);

    /**
     * Calls {@code action} for every record, under one consistent view. What {@code action} throws passes through
     * unchanged; a structure too damaged to read to its end throws {@code CORRUPT} after the records read before it.
     */
    void forEachRecord(BiConsumer<String, byte[]> action);

    /** Calls {@code action} for every entry of index {@code index}, under one consistent view. */
    void forEachIndexEntry(int index, BiConsumer<byte[], String> action);

    /** The number of records. */
    long size();

    /** Applies {@code batch} atomically and returns a ticket for {@link #awaitDurable}. */
    long stage(Batch batch);

    /** Waits until the batch of {@code ticket} is durable. */
    void awaitDurable(long ticket);

    /**
     * Forgets every batch staged and not yet durable, as a failed commit does: each of their {@link #awaitDurable}
     * calls throws {@code IO} with {@code reason}. For a caller that staged a batch and then failed before it could
     * report the outcome: what its caller is told failed must never commit.
     */
    void discardStaged(String reason);

    /** {@link #stage} then {@link #awaitDurable}. */
    default void commit(Batch batch) {
        awaitDurable(stage(batch));
    }

    /**
     * Rewrites the store into a new file holding only the live records, index entries and metadata, and swaps it in
     * atomically. Blocks every read and write until it returns; returns once the smaller file is durable. A crash at
     * any moment leaves the old store or the new one, complete. Does nothing but commit for a store in memory.
     *
     * @throws EngineException {@code IO} when the new file cannot be written (the old store stays in use, unchanged)
     */
    void compact();

    /** Makes everything durable, releases the files and the lock. Idempotent. */
    @Override
    void close();
}
