package dev.tokenvault;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.util.function.BiConsumer;

/**
 * An engine that delegates everything and fails the next {@link #stage} with {@code IO} when asked, as a disk
 * that fails while a batch is applied: the batch is not applied.
 */
final class FailingEngine implements RecordEngine {
    private final RecordEngine inner;
    private volatile boolean failNextStage;

    FailingEngine(RecordEngine inner) {
        this.inner = inner;
    }

    void failNextStage() {
        failNextStage = true;
    }

    @Override
    public void stage(Batch batch) {
        if (failNextStage) {
            failNextStage = false;
            throw new EngineException(EngineException.Kind.IO, "injected: the disk failed while staging");
        }
        inner.stage(batch);
    }

    @Override public byte[] get(String id) { return inner.get(id); }
    @Override public int indexGeneration() { return inner.indexGeneration(); }
    @Override public int nextIndexGeneration() { return inner.nextIndexGeneration(); }
    @Override public Entry getByIndex(int generation, int index, byte[] key) {
        return inner.getByIndex(generation, index, key);
    }
    @Override public String getIndex(int generation, int index, byte[] key) {
        return inner.getIndex(generation, index, key);
    }
    @Override public long clearIndexGeneration(int generation, int maxPerCommit) {
        return inner.clearIndexGeneration(generation, maxPerCommit);
    }
    @Override public Batch indexRemovals(int generation, int max) { return inner.indexRemovals(generation, max); }
    @Override public byte[] getMeta(String key) { return inner.getMeta(key); }
    @Override public void forEachRecord(BiConsumer<String, byte[]> action) { inner.forEachRecord(action); }
    @Override public void forEachIndexEntry(int index, BiConsumer<byte[], String> action) {
        inner.forEachIndexEntry(index, action);
    }
    @Override public long size() { return inner.size(); }
    @Override public void commitStaged() { inner.commitStaged(); }
    @Override public void discardStaged(String reason) { inner.discardStaged(reason); }
    @Override public void compact() { inner.compact(); }
    @Override public void close() { inner.close(); }
}
