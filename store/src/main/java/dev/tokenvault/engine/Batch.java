package dev.tokenvault.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An ordered list of changes that a {@link RecordEngine} applies atomically: after a crash the store holds all of
 * them or none. Values are opaque bytes; ids and index keys are not secret.
 */
public final class Batch {
    /** One change. */
    public sealed interface Op permits PutRecord, RemoveRecord, PutIndex, RemoveIndex, PutMeta, RemoveMeta, ClearAll,
            PutIndexIn, RemoveIndexIn, SwitchIndexGeneration { }

    public record PutRecord(String id, byte[] sealed) implements Op { }

    public record RemoveRecord(String id) implements Op { }

    public record PutIndex(int index, byte[] key, String id) implements Op { }

    public record RemoveIndex(int index, byte[] key) implements Op { }

    public record PutMeta(String key, byte[] value) implements Op { }

    public record RemoveMeta(String key) implements Op { }

    /** Removes every record and every index entry of every index generation; metadata stays. */
    public record ClearAll() implements Op { }

    /** An entry of index {@code index} in generation {@code generation}, current or not. */
    public record PutIndexIn(int generation, int index, byte[] key, String id) implements Op { }

    public record RemoveIndexIn(int generation, int index, byte[] key) implements Op { }

    /**
     * Makes {@code generation} the index generation that {@link RecordEngine#getByIndex} and the plain index
     * operations use from now on; the previous generation's entries stay until they are removed
     * ({@link RecordEngine#clearIndexGeneration}, or batches from {@link RecordEngine#indexRemovals}).
     */
    public record SwitchIndexGeneration(int generation) implements Op { }

    private final List<Op> ops = new ArrayList<>();

    public Batch putRecord(String id, byte[] sealed) {
        ops.add(new PutRecord(id, sealed));
        return this;
    }

    public Batch removeRecord(String id) {
        ops.add(new RemoveRecord(id));
        return this;
    }

    public Batch putIndex(int index, byte[] key, String id) {
        ops.add(new PutIndex(index, key, id));
        return this;
    }

    public Batch removeIndex(int index, byte[] key) {
        ops.add(new RemoveIndex(index, key));
        return this;
    }

    public Batch putMeta(String key, byte[] value) {
        ops.add(new PutMeta(key, value));
        return this;
    }

    public Batch removeMeta(String key) {
        ops.add(new RemoveMeta(key));
        return this;
    }

    public Batch putIndexIn(int generation, int index, byte[] key, String id) {
        ops.add(new PutIndexIn(generation, index, key, id));
        return this;
    }

    public Batch removeIndexIn(int generation, int index, byte[] key) {
        ops.add(new RemoveIndexIn(generation, index, key));
        return this;
    }

    public Batch switchIndexGeneration(int generation) {
        ops.add(new SwitchIndexGeneration(generation));
        return this;
    }

    public Batch clearAll() {
        ops.add(new ClearAll());
        return this;
    }

    public List<Op> ops() {
        return Collections.unmodifiableList(ops);
    }

    public boolean isEmpty() {
        return ops.isEmpty();
    }
}
