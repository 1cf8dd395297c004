package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Set;
import org.mapdb.Atomic;
import org.mapdb.DB;
import org.mapdb.HTreeMap;
import org.mapdb.volume.Volume;

/**
 * Compaction of a store ({@link #compact}): rewrites its live records, index entries and metadata into
 * {@code PATH.compacting}, renames that over the store, and opens the store again.
 *
 * <p>Crash safety: until the rename, {@code PATH} is the old store and {@code PATH.redo} holds only its changes;
 * a stale {@code PATH.compacting} is deleted at the next open. Before the rename the old store is checkpointed
 * (main file synced) and {@code PATH.redo} is emptied and synced, and the new file is synced, so whichever file
 * the name holds after a crash is complete, and no redo record of the old file can ever be replayed onto the new
 * one.
 */
final class Compaction {
    /** Entries copied between commits of the new file, so that one commit's writes stay small in memory. */
    private static final int COMPACT_CHUNK = 4096;

    private Compaction() {
    }

    /**
     * Compacts {@code store}: commits what is staged, then (for a store on disk) {@link #rewrite}s the file
     * and opens it again. Called by {@link MapDbEngine#compact()} under its write lock.
     *
     * @throws EngineException as {@link RecoverableDb#commit()} and {@link #rewrite}; or {@code IO} when the store
     *         could not be opened again, and the engine stopped
     */
    static void compact(RecoverableDb store) {
        OpenDb old = store.live();
        store.commit();
        Path path = store.path();
        if (path == null) {
            return;
        }
        try {
            rewrite(old.db(), path, store.indexCount());
        } catch (RuntimeException | Error e) {
            if (old.db().isClosed()) {
                EngineException stoppedToo = store.reopen(e);
                if (stoppedToo != null) {
                    throw stoppedToo;
                }
            }
            throw e;
        }
        EngineException stoppedAfter = store.reopen(null);
        if (stoppedAfter != null) {
            throw stoppedAfter;
        }
    }

    /**
     * Copies {@code old} (committed, nothing staged) into a new file and renames it over {@code path}. The old
     * {@code DB} is closed once the copy is durable; the caller reopens the store whenever it is closed, after
     * success or failure.
     *
     * @throws EngineException {@code IO} (or {@code CORRUPT} when the old store cannot be read) when the new file
     *         cannot be made; the store at {@code path} is unchanged
     */
    static void rewrite(DB old, Path path, int indexCount) {
        Path tmp = MapDbFiles.sibling(path, ".compacting");
        RedoVolume freshVolume = null;
        Volume mapped = null;
        RedoLog log = null;
        try {
            Set<PosixFilePermission> mode = PrivateFiles.mode(path); // the new file takes the store's mode
            MapDbFiles.deleteStaleCompaction(path);
            PrivateFiles.createEmpty(tmp);
            mapped = MapDbFiles.mappedVolume(tmp);
            log = RedoLog.open(MapDbFiles.redoOf(tmp), 0);
            freshVolume = RedoVolume.onFile(mapped, log, CommitProbe.NONE);
            DB fresh = MapDbFiles.newDb(tmp, freshVolume, false);
            copyAll(old, fresh, indexCount);
            fresh.commit();
            fresh.close(); // checkpoints: the new main file is synced and its log empty
            freshVolume = null;
            mapped = null;
            log = null;
            PrivateFiles.setMode(tmp, mode);
            MapDbFiles.forceFile(tmp);
            Files.deleteIfExists(MapDbFiles.redoOf(tmp));
            // The old store: synced, and its redo log empty on disk, before the new file takes the name.
            old.close();
            MapDbFiles.emptyDurably(MapDbFiles.redoOf(path));
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
            MapDbFiles.syncDirectory(path.getParent());
        } catch (IOException | RuntimeException | Error e) {
            MapDbFiles.discardCreating(freshVolume, mapped, log, e);
            try {
                MapDbFiles.deleteStaleCompaction(path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed); // deleted at the next open
            }
            if (e instanceof Error err && !(e instanceof AssertionError)) {
                throw err; // AssertionError: MapDB's always-on checks meeting a damaged map while copying it: CORRUPT
            }
            throw new EngineException(MapDbErrors.isIo(e) ? EngineException.Kind.IO : EngineException.Kind.CORRUPT,
                    "compaction of " + path + " failed, the store is unchanged: " + MapDbErrors.ioReason(e), e);
        }
    }

    /**
     * Copies every named MapDB object of {@code from} (records, metadata, the current generation's index tables and the
     * engine's own counters) into {@code to} under the same name, so the new file opens exactly as the old one did.
     * Records move to new slots ({@link RecordSlots#copy}), and the index entries are pointed at them.
     * The index tables of other generations are never read again (compaction runs with no index build under way), nor
     * are the maps of earlier layouts (emptied by the upgrade at open): they are created empty, so their names, and so
     * the generation numbers used, stay; a damaged one is left behind instead of failing every compaction.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void copyAll(DB from, DB to, int indexCount) {
        int current = from.get(IndexGenerations.CURRENT) instanceof Atomic.Integer g ? g.get() : 0;
        // The records first: they get new recids, and the index entries copied below point at them.
        RecordSlots slots = RecordSlots.copy(from, to, to::commit, COMPACT_CHUNK);
        for (String name : from.getAllNames()) {
            if (name.equals(RecordSlots.MAP)) {
                continue;
            }
            if (name.equals(IndexGenerations.TABLES)) {
                copyTables(from, to, current, indexCount, slots);
                continue;
            }
            Object o = from.get(name);
            if (o instanceof HTreeMap m) {
                HTreeMap target = to.hashMap(name, m.getKeySerializer(), m.getValueSerializer()).createOrOpen();
                if (IndexGenerations.isEarlierLayoutMap(name, indexCount)) {
                    continue;
                }
                int n = 0;
                for (Object e : m.getEntries()) {
                    Map.Entry entry = (Map.Entry) e;
                    target.put(entry.getKey(), entry.getValue());
                    if (++n % COMPACT_CHUNK == 0) {
                        to.commit(); // the new file is not live until the rename: partial commits are harmless
                    }
                }
            } else if (o instanceof Atomic.Integer a) {
                to.atomicInteger(name).createOrOpen().set(a.get());
            } else if (o instanceof Atomic.Long a) {
                to.atomicLong(name).createOrOpen().set(a.get());
            } else {
                throw new IllegalStateException("compaction cannot copy " + name + " ("
                        + (o == null ? "unknown" : o.getClass().getName()) + ")");
            }
        }
    }

    /**
     * Creates every index table of {@code from} in {@code to}, and copies the entries of the current generation's,
     * each pointed at its record's slot in {@code slots}.
     */
    private static void copyTables(DB from, DB to, int current, int indexCount, RecordSlots slots) {
        HTreeMap<String, Long> source = IndexGenerations.registry(from);
        HTreeMap<String, Long> target = IndexGenerations.registry(to);
        int[] n = {0};
        for (String name : source.keySet()) {
            int generation = IndexGenerations.tableGeneration(name, indexCount);
            if (generation < 0) {
                continue; // the slot table, which RecordSlots.copy made
            }
            IndexTable copy = IndexGenerations.table(to, target, name);
            if (generation == current) {
                IndexGenerations.table(from, source, name).forEach((key, entry) -> {
                    copy.put(key, IndexEntry.retarget(entry, slots));
                    if (++n[0] % COMPACT_CHUNK == 0) {
                        to.commit(); // the new file is not live until the rename: partial commits are harmless
                    }
                });
            }
        }
    }
}
