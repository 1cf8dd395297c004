package dev.tokenvault;

import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rebuilds the index maps as a new index generation beside the current one, then switches to it in one commit: for
 * {@link TokenVault#rotateIndexKey()} (under a new index key) and {@link TokenVault#repair()} (under the same one).
 * Its callers hold the vault's maintenance lock; every commit goes through the {@link WritePipeline}.
 */
final class IndexRebuild {
    /** Entries removed per batch when an old generation is emptied: as many as one batch of a build writes. */
    private static final int DISCARD_BATCH = TokenVault.MAINTENANCE_BATCH * Field.INDEXED.length;

    private final RecordEngine engine;
    private final RecordReader reader;
    private final KeyState keyState;
    private final WritePipeline pipeline;
    private final RecordWriter writer;
    private final Maintenance maintenance;
    private final SecureRandom random;

    /** A complete new index generation, not yet current: how many records it indexes, and what it could not index. */
    private record Built(int generation, long indexed, List<String> problems) { }

    /** What one commit of a build indexed, and what it could not index. */
    private record BuiltChunk(long indexed, List<String> problems) { }

    /** How the switch's commit went: the generation it replaced, or its failure (the old generation is current). */
    private record Switch(int old, RuntimeException failure) { }

    IndexRebuild(RecordEngine engine, RecordReader reader, KeyState keyState, WritePipeline pipeline,
                 RecordWriter writer, Maintenance maintenance, SecureRandom random) {
        this.engine = engine;
        this.reader = reader;
        this.keyState = keyState;
        this.pipeline = pipeline;
        this.writer = writer;
        this.maintenance = maintenance;
        this.random = random;
    }

    /** See {@link TokenVault#rotateIndexKey()}. */
    void rotateIndexKey() {
        Keyring draft = keyState.current().keyring().withNewIndexKey(random);
        BlindIndex target = new BlindIndex(draft.indexKey(), Field.indexLabels());
        boolean done = false;
        try {
            Built built = build(target, true);
            switchTo(built.generation(), target, draft);
            done = true;
        } finally {
            if (!done) {
                target.close();
                draft.indexKey().destroy(); // only the new index key: the data keys are shared
            }
        }
    }

    /** See {@link TokenVault#repair()}. */
    RepairReport repair() {
        VerifyReport before;
        try {
            before = maintenance.verify();
        } catch (TokenStoreException e) {
            if (e.code() != ErrorCode.CORRUPT) {
                throw e;
            }
            before = new VerifyReport(0, 0, List.of("the index maps cannot be read: " + e.getMessage()));
        }
        if (before.isClean()) {
            return new RepairReport(before, false, 0, List.of());
        }
        BlindIndex target = new BlindIndex(keyState.current().keyring().indexKey(), Field.indexLabels());
        boolean done = false;
        try {
            Built built = build(target, false);
            switchTo(built.generation(), target, null);
            done = true;
            return new RepairReport(before, true, built.indexed(), built.problems());
        } finally {
            if (!done) {
                target.close();
            }
        }
    }

    /**
     * Builds a new index generation under {@code target} from every record, in bounded commits through the write
     * path; from the moment the record ids are listed, every write also updates the new generation. On failure the
     * new generation is discarded and the exception thrown.
     *
     * @param strict throw {@code INTEGRITY} at the first record that cannot be indexed, instead of listing it
     */
    private Built build(BlindIndex target, boolean strict) {
        List<String> ids = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        int generation = pipeline.exclusive(() -> Errors.call(() -> {
            int next = engine.nextIndexGeneration();
            ids.addAll(listRecordIds(strict, problems));
            writer.buildAlongside(new RecordWriter.IndexBuild(next, target));
            return next;
        }));
        boolean built = false;
        try {
            // blind keys that two records share: neither record is indexed by them
            List<Set<ByteBuffer>> shared = new ArrayList<>();
            for (int i = 0; i < Field.INDEXED.length; i++) {
                shared.add(new HashSet<>());
            }
            long indexed = 0;
            for (int from = 0; from < ids.size(); from += TokenVault.MAINTENANCE_BATCH) {
                List<String> chunk = ids.subList(from, Math.min(ids.size(), from + TokenVault.MAINTENANCE_BATCH));
                BuiltChunk done = pipeline.write(() -> buildChunk(chunk, generation, target, strict, shared));
                indexed += done.indexed();
                problems.addAll(done.problems());
            }
            built = true;
            return new Built(generation, indexed, problems);
        } finally {
            if (!built) {
                pipeline.locked(() -> writer.buildAlongside(null)); // also when closed: never hide the failure
                discard(generation);
            }
        }
    }

    /**
     * The ids of every record, each once. When the records map's structure is damaged part-way, a repair ({@code
     * strict} false) goes on with the ids listed before the damage and says so in {@code problems}; the records past
     * it cannot be reached through the map.
     */
    private Collection<String> listRecordIds(boolean strict, List<String> problems) {
        Set<String> seen = new LinkedHashSet<>();
        try {
            engine.forEachRecord((id, sealed) -> seen.add(id));
        } catch (EngineException e) {
            if (strict || e.kind() != EngineException.Kind.CORRUPT) {
                throw e;
            }
            problems.add("the records map is damaged after " + seen.size() + " records; records past the damage"
                    + " cannot be listed, so they are not indexed: " + e.getMessage());
        }
        return seen;
    }

    /** A write action: indexes the records of {@code chunk} in {@code generation}. */
    private BuiltChunk buildChunk(List<String> chunk, int generation, BlindIndex target, boolean strict,
                                  List<Set<ByteBuffer>> shared) {
        List<String> found = new ArrayList<>();
        long count = 0;
        Batch batch = new Batch();
        List<Map<ByteBuffer, String>> planned = new ArrayList<>(); // this batch's entries, per index
        for (int i = 0; i < Field.INDEXED.length; i++) {
            planned.add(new HashMap<>());
        }
        for (String id : chunk) {
            byte[] sealed = Errors.call(() -> engine.get(id));
            if (sealed == null) {
                continue; // deleted since the listing, with its entries in both generations
            }
            TokenRecord r;
            try {
                r = reader.open(keyState.current(), id, sealed);
            } catch (TokenStoreException e) {
                if (strict) {
                    throw new TokenStoreException(ErrorCode.INTEGRITY, "record " + id + " fails authentication, so"
                            + " it cannot be indexed; the index key is unchanged (run verify() and repair())");
                }
                found.add("record " + id + " fails authentication; it is not indexed");
                continue;
            }
            count++;
            for (Field f : Field.INDEXED) {
                String v = r.get(f);
                if (v == null) {
                    continue;
                }
                byte[] key = target.compute(f.index, v);
                ByteBuffer slot = ByteBuffer.wrap(key);
                if (shared.get(f.index).contains(slot)) {
                    found.add("record " + id + " holds the same " + f.label + " as another record; it is not"
                            + " indexed by it");
                    continue;
                }
                Map<ByteBuffer, String> mine = planned.get(f.index);
                String owner = mine.containsKey(slot) ? mine.get(slot)
                        : Errors.call(() -> engine.getIndex(generation, f.index, key));
                if (owner != null && !owner.equals(id)) {
                    if (strict) {
                        throw new TokenStoreException(ErrorCode.INTEGRITY, "records " + owner + " and " + id
                                + " hold the same " + f.label + "; the index key is unchanged (run verify() and"
                                + " repair())");
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
        if (!batch.isEmpty()) {
            pipeline.stage(batch);
        }
        return new BuiltChunk(count, found);
    }

    /**
     * One commit: makes {@code generation} (built under {@code target}) current and, when {@code withIndexKey} is
     * given, stores the keyring with its index key; then empties the old generation in bounded batches. The emptying
     * runs after the write lock is released: it takes the lock batch by batch.
     */
    private void switchTo(int generation, BlindIndex target, Keyring withIndexKey) {
        Switch done = pipeline.exclusive(() -> switchNow(generation, target, withIndexKey));
        if (done.failure() != null) {
            discard(generation); // the engine is back at the old generation and keyring
            throw done.failure();
        }
        discard(done.old());
    }

    /** With every write excluded: the switch's commit, and on success the new keys published ({@link #switchTo}). */
    private Switch switchNow(int generation, BlindIndex target, Keyring withIndexKey) {
        // first, before anything that can throw: a failure here closes target, which later writes would still use
        writer.buildAlongside(null);
        Keys k = keyState.current();
        Keyring keyring = withIndexKey == null ? k.keyring() : k.keyring().withIndexKeyOf(withIndexKey);
        Batch batch = new Batch().switchIndexGeneration(generation);
        if (withIndexKey != null) {
            keyState.putKeyring(batch, keyring);
        }
        try {
            pipeline.commitNow(batch);
        } catch (RuntimeException e) {
            return new Switch(k.indexGeneration(), e);
        }
        // readers that see the new generation before these keys wait for them (RecordReader.indexLookup)
        keyState.publish(new Keys(k.header(), keyring, target, generation));
        keyState.retire(k.blindIndex()::close); // readers may still compute with it; wiped at close
        if (withIndexKey != null) {
            keyState.retire(k.keyring().indexKey()::destroy);
        }
        return new Switch(k.indexGeneration(), null);
    }

    /**
     * Empties an index generation that is not current, in bounded batches, each a write action through the write
     * path: writers queued meanwhile go in between the batches, or share their commits, rather than wait until the
     * whole generation is gone (a wait that would grow with the store). Meanwhile nothing adds entries to the
     * generation and it never becomes current again: no write builds alongside it any more, a generation number is
     * never used twice, and the other operations over the whole store wait for the maintenance lock that the callers
     * hold. A failure here never fails the rotation or repair that called it: the generation is never read again,
     * and the engine empties stale generations when it next opens; so the failure is not thrown but kept for the
     * caller that is already failing, if any.
     */
    private void discard(int generation) {
        try {
            boolean more = true;
            while (more) {
                // each batch queues behind the writers that came during the last one: the queue keeps its order
                more = pipeline.write(() -> stageRemovals(generation));
            }
        } catch (EngineException | TokenStoreException e) {
            // left for the next open (see above); a closed or stopped vault says so at its next call
        }
    }

    /** A write action: stages the removal of up to {@link #DISCARD_BATCH} entries of {@code generation}, if any. */
    private boolean stageRemovals(int generation) {
        Batch removals = Errors.call(() -> engine.indexRemovals(generation, DISCARD_BATCH));
        if (removals.isEmpty()) {
            return false;
        }
        pipeline.stage(removals);
        return true;
    }
}
