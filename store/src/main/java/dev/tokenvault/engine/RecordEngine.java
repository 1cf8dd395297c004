package dev.tokenvault.engine;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Storage of opaque sealed records, their blind-index entries and store metadata: the contract every engine meets
 * (the abstract test suite {@code RecordEngineContract} checks it). The engine never sees plaintext or keys.
 *
 * <h2>Writes</h2>
 * <ul>
 *   <li><b>Atomic batches.</b> A {@link Batch} is applied whole or not at all: after a crash, a failed commit or a
 *       discard, the store holds all of its changes or none of them.</li>
 *   <li><b>Staging.</b> {@link #stage} applies a batch so that every later read sees it, before it is durable.</li>
 *   <li><b>Durable on return.</b> {@link #commitStaged} makes everything staged since the last commit durable in one
 *       commit and returns once it survives a crash; {@link #commit} is {@code stage} then {@code commitStaged}.</li>
 *   <li><b>Failure goes back.</b> When staging or the commit fails, every change staged since the last commit is
 *       discarded (the store is back at its last durable state) and the call throws. {@link #discardStaged} does the
 *       same on purpose: for a caller that staged a batch and then failed before it could report the outcome.</li>
 *   <li><b>Single writer.</b> The caller serialises {@code stage}, {@code commitStaged}, {@code discardStaged},
 *       {@code clearIndexGeneration} and {@code compact}: one thread at a time (the group commit lives in the caller,
 *       which combines many callers' batches into one commit).</li>
 * </ul>
 *
 * <h2>Reads</h2>
 * Reads may run on any thread at any time, concurrently with a writer, and never see part of a batch: a read sees
 * each staged batch whole or not at all. Reads on the writer's thread see staged batches before they are durable.
 * Reads on other threads see them before they are durable too, except on an engine {@link #isShared() shared} with
 * other nodes, where other threads see only what is committed (a staged batch lives in a database transaction until
 * its commit): such an engine tells its {@link #changeFeed() change feed}'s listener of every commit, its own
 * included, after the commit and before {@code commitStaged} returns, so that a cache can drop what a reader loaded
 * from before the commit.
 *
 * <h2>Shared engines</h2>
 * Several nodes (processes, or vaults in one process) may open one shared store at once. The single-writer rule then
 * holds per node, and the engine keeps the nodes' writes apart: {@link #beginWrite()} opens a unit in which the
 * writer's reads and its staged batches form one transaction, with the rows it reads locked against other nodes until
 * {@code commitStaged}, {@code discardStaged} or {@link #endWrite()}; a write that collides with another node's fails
 * with {@code RETRY} and changes nothing.
 *
 * <h2>Index generations</h2>
 * Index maps come in generations: exactly one is current and serves {@link #getByIndex}; another can be built beside
 * it in many bounded commits (with {@link Batch#putIndexIn}), invisible to readers, and then made current by one small
 * commit ({@link Batch#switchIndexGeneration}). Entries of a generation that is not current are left over from a
 * switch or from a build that never finished; {@link #clearIndexGeneration} removes them in commits of its own, a
 * caller that removes them beside other writes takes them in bounded batches from {@link #indexRemovals}, and an
 * engine may remove them when it opens. A generation number is never used twice.
 *
 * <h2>Failures</h2>
 * Every method throws {@link EngineException}; its {@link EngineException.Kind} says what failed:
 * {@code IO} the storage failed (a write that throws it changed nothing durable; an engine that cannot go back to its
 * durable state stops and says so in every later call), {@code CORRUPT} what is stored is damaged, {@code LOCKED}
 * another opener holds the store, {@code CLOSED} the engine was closed, {@code NOT_FOUND} no store where one must be,
 * {@code UNSUPPORTED_FORMAT} the storage holds something that is not a store, or one of a newer format,
 * {@code READ_ONLY} a change asked of an engine opened read-only (or a read-only open of a store only a writer may
 * open now), {@code RETRY} (shared engines only) another node's concurrent change collided with this write, which
 * changed nothing and may be run again.
 */
public interface RecordEngine extends AutoCloseable {

    /** Whether other nodes may open this store at the same time (a database, not a file). */
    default boolean isShared() {
        return false;
    }

    /**
     * The single writer is about to decide a write: until the next {@link #commitStaged}, {@link #discardStaged} or
     * {@link #endWrite}, the reads it makes on this thread belong to the write. An engine that is not shared needs
     * nothing (its writer is the only one); a shared engine reads them in the write's transaction, locking what it
     * reads, so that another node cannot change it before the commit.
     */
    default void beginWrite() {
    }

    /** Ends a write begun with {@link #beginWrite()} that staged nothing: releases what its reads locked. */
    default void endWrite() {
    }

    /**
     * The changes other nodes commit, for a cache in front of a {@link #isShared() shared} engine; {@code null} for an
     * engine that is the only one to change its store.
     */
    default ChangeFeed changeFeed() {
        return null;
    }

    /**
     * Runs {@code body} (which reads the metadata and may commit one batch with it) exclusively among the nodes that
     * open this store: the check-then-initialise of a new store, so that nodes opening an empty store at the same
     * moment create one store, not one each. Engines that are not shared just run it.
     */
    default <T> T exclusively(Supplier<T> body) {
        return body.get();
    }

    /**
     * Reads the metadata values of {@code keys}, lets {@code change} compute their new values from them ({@code null}
     * removes one; a key it leaves out stays as it is) and writes them, as one transaction of its own that no other
     * node's can interleave with: for state that every node updates, such as a counter. Not part of a write: nothing
     * may be staged. Engines that are not shared apply it as one commit.
     *
     * @return what {@code change} returned
     */
    default Map<String, byte[]> updateMeta(List<String> keys,
            UnaryOperator<Map<String, byte[]>> change) {
        Map<String, byte[]> before = new HashMap<>();
        for (String k : keys) {
            before.put(k, getMeta(k));
        }
        Map<String, byte[]> after = change.apply(before);
        Batch batch = new Batch();
        after.forEach((k, v) -> {
            if (v == null) {
                batch.removeMeta(k);
            } else {
                batch.putMeta(k, v);
            }
        });
        if (!batch.isEmpty()) {
            commit(batch);
        }
        return after;
    }

    /**
     * Leases on record ids that every node opening this store sees, for refresh single-flight across nodes; empty for
     * an engine that only one process opens for writing (its caller keeps its leases in its own memory).
     */
    default Optional<RecordLeases> leases() {
        return Optional.empty();
    }

    /** A record and the id it is stored under. */
    record Entry(String id, byte[] sealed) { }

    /**
     * Returned by {@link #getByIndex} when the index generation asked for is no longer the current one: the caller's
     * index key is out of date, and it should look again with the current one.
     */
    Entry GENERATION_CHANGED = new Entry("", null);

    /** The sealed record with this id, or {@code null}. */
    byte[] get(String id);

    /** The current index generation. */
    int indexGeneration();

    /** A generation number that no index map of this store has used. */
    int nextIndexGeneration();

    /**
     * Resolves the entry of {@code key} in index {@code index} of the current generation and reads the record it
     * names, as one consistent read.
     *
     * @return {@code null} when the index has no entry; an entry whose {@code sealed} is {@code null} when the index
     *         names a record that does not exist; {@link #GENERATION_CHANGED} (compare by identity) when
     *         {@code generation} is not the current generation
     */
    Entry getByIndex(int generation, int index, byte[] key);

    /** The id an entry of {@code generation} (current or not) names, or {@code null}. */
    String getIndex(int generation, int index, byte[] key);

    /**
     * Removes every entry of a generation that is not current, at most {@code maxPerCommit} entries per durable
     * commit, so that no commit grows with the store. A write: the caller serialises it with the others, and nothing
     * may be staged when it is called.
     *
     * @return the number of entries removed
     * @throws IllegalArgumentException when {@code generation} is the current generation, or {@code maxPerCommit} is
     *         not positive
     */
    default long clearIndexGeneration(int generation, int maxPerCommit) {
        long removed = 0;
        while (true) {
            Batch batch = indexRemovals(generation, maxPerCommit);
            if (batch.isEmpty()) {
                return removed;
            }
            commit(batch);
            removed += batch.ops().size();
        }
    }

    /**
     * A batch that removes up to {@code max} entries of a generation that is not current, and nothing else; empty when
     * the generation holds none. For a caller that empties the generation in batches of its own, each staged with
     * other writes rather than committed alone (as {@link #clearIndexGeneration} does). It only reads; the caller
     * calls it as part of a write (serialised with the others), so that no switch makes the generation current
     * before the batch is staged.
     *
     * @throws IllegalArgumentException when {@code generation} is the current generation, or {@code max} is not
     *         positive
     */
    Batch indexRemovals(int generation, int max);

    /** A metadata value, or {@code null}. */
    byte[] getMeta(String key);

    /**
     * Calls {@code action} for every record, under one consistent view. What {@code action} throws passes through
     * unchanged; a structure too damaged to read to its end throws {@code CORRUPT} after the records read before it.
     */
    void forEachRecord(BiConsumer<String, byte[]> action);

    /** Calls {@code action} for every entry of index {@code index} of the current generation, under one view. */
    void forEachIndexEntry(int index, BiConsumer<byte[], String> action);

    /** The number of records. */
    long size();

    /**
     * Applies {@code batch} atomically; later reads see it. Not durable until {@link #commitStaged}. On failure every
     * change staged since the last commit is discarded, and it throws.
     */
    void stage(Batch batch);

    /**
     * Makes every batch staged since the last commit durable, in one commit; returns once they survive a crash. On
     * failure they are all discarded (the store is back at its last durable state), and it throws {@code IO}.
     */
    void commitStaged();

    /**
     * Forgets every batch staged since the last commit, as a failed commit does; {@code reason} says why in the
     * failures this may cause (it holds no secret).
     */
    void discardStaged(String reason);

    /** {@link #stage} then {@link #commitStaged}: {@code batch}, and whatever was staged before it, made durable. */
    default void commit(Batch batch) {
        stage(batch);
        commitStaged();
    }

    /**
     * Rewrites the store into a new file holding only the live records, index entries and metadata, and swaps it in
     * atomically. Commits what is staged first. Blocks every read and write until it returns; returns once the smaller
     * file is durable. A crash at any moment leaves the old store or the new one, complete. Does nothing but commit
     * for a store in memory.
     *
     * @throws EngineException {@code IO} when the new file cannot be written (the old store stays in use, unchanged)
     */
    void compact();

    /** Makes everything staged durable, releases the files and the lock. Idempotent; later calls throw CLOSED. */
    @Override
    void close();
}
