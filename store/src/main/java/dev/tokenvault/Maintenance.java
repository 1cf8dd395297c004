package dev.tokenvault;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The operations over the whole store that are not index rebuilds: moving every record to the current data key
 * ({@link #resealAll}), checking records and index entries ({@link #verify}), compaction and counters. The callers of
 * {@code resealAll} and {@code compact}, and of index rebuilds, hold its maintenance lock ({@link #underLock}).
 */
final class Maintenance {
    private final RecordEngine engine;
    private final RecordReader reader;
    private final KeyState keyState;
    private final WritePipeline pipeline;
    private final LookupCache cache;
    private final OpenState state;
    /** Held by the operations that rewrite the whole store: resealAll, rotateIndexKey, repair, compact. */
    private final ReentrantLock lock = new ReentrantLock();

    /** What one commit of {@link #resealAll} moved, and the records it could not move. */
    private record ResealedChunk(long moved, List<String> problems) { }

    Maintenance(RecordEngine engine, RecordReader reader, KeyState keyState, WritePipeline pipeline,
                LookupCache cache, OpenState state) {
        this.engine = engine;
        this.reader = reader;
        this.keyState = keyState;
        this.pipeline = pipeline;
        this.cache = cache;
        this.state = state;
    }

    /** Runs {@code body} holding the maintenance lock: one whole-store operation at a time. */
    <T> T underLock(Supplier<T> body) {
        return state.underLock(lock, body);
    }

    /** {@link #underLock(Supplier)} without a result. */
    void underLock(Runnable body) {
        underLock(() -> {
            body.run();
            return null;
        });
    }

    /**
     * Refuses {@code operation} on a shared store, which other nodes may have open: it needs the store to itself.
     *
     * @throws TokenStoreException {@code LOCKED} on a shared store, saying why and what to do
     */
    void soleNode(String operation, String why) {
        if (engine.isShared()) {
            throw new TokenStoreException(ErrorCode.LOCKED, operation + " is not available on the " + state.where()
                    + ": " + why + ". Stop every node, copy the store to a file (tokenvault copy), run " + operation
                    + " there and copy it back");
        }
    }

    /** See {@link TokenVault#resealAll()}. */
    ResealReport resealAll() {
        int target = keyState.current().keyring().currentVersion();
        List<String> ids = new ArrayList<>();
        Errors.run(() -> engine.forEachRecord((id, sealed) -> {
            if (RecordReader.versionOf(sealed) != target) {
                ids.add(id);
            }
        }));
        long resealed = 0;
        List<String> problems = new ArrayList<>();
        for (int from = 0; from < ids.size(); from += TokenVault.MAINTENANCE_BATCH) {
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + TokenVault.MAINTENANCE_BATCH));
            ResealedChunk done = pipeline.write(() -> resealChunk(chunk));
            resealed += done.moved();
            problems.addAll(done.problems());
        }
        List<Integer> removed = pipeline.write(this::removeUnusedDataKeys);
        return new ResealReport(resealed, keyState.current().keyring().currentVersion(), removed, problems);
    }

    /** A write action: reseals the records of {@code chunk} still under an older version. */
    private ResealedChunk resealChunk(List<String> chunk) {
        long moved = 0;
        List<String> failed = new ArrayList<>();
        Batch batch = new Batch();
        for (String id : chunk) {
            byte[] sealed = Errors.call(() -> engine.get(id));
            Keys k = keyState.current();
            if (sealed == null || RecordReader.versionOf(sealed) == k.keyring().currentVersion()) {
                continue; // deleted, or saved again since the scan
            }
            TokenRecord r;
            try {
                r = reader.open(k, id, sealed);
            } catch (TokenStoreException e) {
                failed.add("record " + id + " fails authentication; it keeps its key version");
                continue;
            }
            batch.putRecord(id, keyState.seal(r, batch)); // same plaintext: index entries and cache stay valid
            moved++;
        }
        if (!batch.isEmpty()) {
            pipeline.stage(batch);
        }
        return new ResealedChunk(moved, failed);
    }

    /** A write action: removes from the keyring the data keys no record uses, but the current one. */
    private List<Integer> removeUnusedDataKeys() {
        Keys k = keyState.current();
        Map<Integer, Long> used = recordsPerKeyVersion();
        List<Integer> unused = new ArrayList<>();
        for (Integer v : k.keyring().dataKeys().keySet()) {
            if (v != k.keyring().currentVersion() && !used.containsKey(v)) {
                unused.add(v);
            }
        }
        if (!unused.isEmpty()) {
            Batch batch = new Batch();
            keyState.removeDataKeys(batch, unused);
            pipeline.stage(batch);
        }
        return unused;
    }

    /** See {@link TokenVault#verify()}. */
    VerifyReport verify() {
        while (true) {
            Keys k = keyState.current();
            VerifyReport report = verifyWith(k);
            // an index-key rotation or repair that switched generations during the scan: look again
            if (k.indexGeneration() != keyState.current().indexGeneration()
                    || k.indexGeneration() != Errors.call(engine::indexGeneration)) {
                continue;
            }
            if (report.isClean()) {
                return report;
            }
            // The scan runs beside the writers, so that a large store stays writable meanwhile; a save between the
            // records' scan and the index scans reads as damage (an entry naming a record the scan never read). What
            // it found is looked at again with this vault's writes held off: that report stands. (Another node's
            // writes to a shared store are not held off; verify() reports them as what they seemed.)
            return pipeline.exclusive(() -> verifyWith(keyState.current()));
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
        long[] counts = new long[2]; // records, index entries: counted inside the engine's callbacks
        structure(problems, "the records map", () -> engine.forEachRecord((id, sealed) -> {
            counts[0]++;
            if (sealedById.put(id, sealed) != null) {
                problems.add("the records map lists record " + id + " twice (damaged structure)");
                return;
            }
            try {
                records.put(id, reader.open(k, id, sealed));
            } catch (TokenStoreException e) {
                problems.add("record " + id + " fails authentication");
            }
        }), () -> counts[0] + " records were listed before it"); // counted when the damage is met
        for (Map.Entry<String, byte[]> e : sealedById.entrySet()) {
            String id = e.getKey();
            structure(problems, "the records map", () -> {
                if (!Arrays.equals(e.getValue(), engine.get(id))) {
                    problems.add("record " + id + " is listed but not found by its id (damaged structure)");
                }
            }, () -> "looking up record " + id);
        }
        for (Field f : Field.INDEXED) {
            verifyIndex(k, f, records, problems, counts);
        }
        return new VerifyReport(counts[0], counts[1], problems);
    }

    /** The index of {@code f} against {@code records}, both ways; adds to {@code problems} and {@code counts[1]}. */
    private void verifyIndex(Keys k, Field f, Map<String, TokenRecord> records, List<String> problems, long[] counts) {
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
                    } else if (r.get(f) == null || !Arrays.equals(key, k.blindKey(f, r.get(f)))) {
                        problems.add(f.label + " index entry for record " + id + " does not match the record");
                    }
                }), () -> "its entries were not all read");
        if (!readable) {
            return; // every record would lack its entry: the line above says why
        }
        for (TokenRecord r : records.values()) {
            String v = r.get(f);
            if (v == null) {
                continue;
            }
            byte[] key = k.blindKey(f, v);
            if (!r.id().equals(entries.get(ByteBuffer.wrap(key)))) {
                problems.add("record " + r.id() + " has no " + f.label + " index entry");
                continue;
            }
            structure(problems, "the " + f.label + " index map", () -> {
                if (!r.id().equals(engine.getIndex(k.indexGeneration(), f.index, key))) {
                    problems.add("the " + f.label + " index entry of record " + r.id()
                            + " is listed but not found by lookup (damaged structure)");
                }
            }, () -> "looking up the entry of record " + r.id());
        }
    }

    /**
     * Runs one read of {@link #verifyWith}; a damaged structure ({@code CORRUPT}) becomes a problem line naming
     * {@code what} and {@code context}, and the method returns false. Other failures are thrown.
     */
    private static boolean structure(List<String> problems, String what, Runnable read, Supplier<String> context) {
        try {
            read.run();
            return true;
        } catch (EngineException e) {
            if (e.kind() != EngineException.Kind.CORRUPT) {
                throw Errors.translate(e);
            }
            problems.add(what + " is damaged (" + context.get() + "): " + e.getMessage());
            return false;
        }
    }

    /** See {@link TokenVault#compact()}. */
    void compact() {
        pipeline.exclusive(() -> {
            Errors.run(engine::compact);
            // the copy holds the current index maps under the generation the engine reports now
            keyState.publish(keyState.current().withIndexGeneration(Errors.call(engine::indexGeneration)));
        });
    }

    /** See {@link TokenVault#stats()}. */
    VaultStats stats(VaultStats.SingleFlight singleFlight) {
        Map<Integer, Long> perVersion = pipeline.exclusive(keyState::sealCounts);
        long records = Errors.call(engine::size);
        Map<Integer, Long> recordsPerVersion = recordsPerKeyVersion();
        return new VaultStats(records, keyState.current().keyring().currentVersion(), perVersion, recordsPerVersion,
                cache.hitRate(), cache.size(), singleFlight);
    }

    /** Records per data key version, from the sealed headers alone; unreadable headers are not counted. */
    private Map<Integer, Long> recordsPerKeyVersion() {
        Map<Integer, Long> out = new TreeMap<>();
        Errors.run(() -> engine.forEachRecord((id, sealed) -> {
            int v = RecordReader.versionOf(sealed);
            if (v >= 0) {
                out.merge(v, 1L, Long::sum);
            }
        }));
        return out;
    }
}
