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

    /** A metadata value, or {@code null}. */
    byte[] getMeta(String key);

    /** Calls {@code action} for every record, under one consistent view. */
    void forEachRecord(BiConsumer<String, byte[]> action);

    /** Calls {@code action} for every entry of index {@code index}, under one consistent view. */
    void forEachIndexEntry(int index, BiConsumer<byte[], String> action);

    /** The number of records. */
    long size();

    /** Applies {@code batch} atomically and returns a ticket for {@link #awaitDurable}. */
    long stage(Batch batch);

    /** Waits until the batch of {@code ticket} is durable. */
    void awaitDurable(long ticket);

    /** {@link #stage} then {@link #awaitDurable}. */
    default void commit(Batch batch) {
        awaitDurable(stage(batch));
    }

    /** Makes everything durable, releases the files and the lock. Idempotent. */
    @Override
    void close();
}
