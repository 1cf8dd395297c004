package dev.tokenvault;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.security.SecureRandom;
import java.util.List;
import java.util.function.Consumer;

/**
 * Copies a store into an empty one, from any engine to any other (a file, a shared store in a database) without
 * opening a single record: the sealed records, the blind-index entries and the key metadata (header, key check,
 * wrapped keyring, seal counts) move as the bytes they are. The copy holds the same store id and the same
 * associated data, so it opens with the same master key, and {@code verify()} finds it as clean as the source.
 *
 * <p>The master key of {@code from} is checked before anything is written ({@code WRONG_KEY}), and it is used for
 * that alone: it unwraps the keyring to learn which data key versions have a seal count to copy. No record is
 * decrypted.
 *
 * <p>The target must be empty: no record, index entry or key ({@code CONFLICT} otherwise, and nothing is written).
 * Records and index entries go over in commits of {@value #PER_COMMIT}; the key metadata comes last, in one commit, so
 * that a copy interrupted after its first commit leaves a target with records but no header, which every open refuses
 * ({@code CORRUPT}) instead of mistaking it for a store: remove it (the file, or the tables) and copy again. One
 * interrupted before its first commit leaves the target empty, and an open that may create a store then creates a
 * new, empty one there: a caller that copies to a file copies under another name and renames the file once this
 * returns, as {@code tokenvault copy} does. At the end the counts are
 * checked: the target's records and each index's entries against what the source held ({@code CORRUPT} when they
 * differ). The source must not change during the copy: a file is opened {@code readOnly()} by the caller (which also
 * keeps writers out), a shared store's writers should be stopped first.
 */
public final class StoreCopy {
    static final int PER_COMMIT = 1_000;

    /** What was copied: records, index entries (all indexes) and metadata values; the counts were checked. */
    public record Report(long records, long indexEntries, int metadataValues) { }

    private StoreCopy() {
    }

    /**
     * Copies the store {@code from} names (with its master key) into the empty store {@code to} names (no master key
     * needed: the copy keeps the source's keys).
     *
     * @throws TokenStoreException {@code WRONG_KEY} for the source's key; {@code NOT_FOUND} when there is no source
     *         store; {@code CONFLICT} when the target holds anything; {@code CORRUPT} when the counts differ after
     *         the copy; and what opening either store throws
     */
    public static Report copy(TokenVault.Builder from, TokenVault.Builder to) {
        VaultOpener.checkStore(from);
        VaultOpener.checkStore(to);
        if (from.masterKey == null || from.masterKey.isDestroyed()) {
            throw Errors.invalid("the source's masterKey is required: it checks the key before the copy");
        }
        RecordEngine source = VaultOpener.openEngine(from);
        List<String> metadataKeys;
        try {
            // read-only: learns the data key versions and checks the key, and writes nothing to the source
            KeyState keys = KeyUnlock.unlock(source, from.masterKey, VaultOpener.where(from), from.sealLimit,
                    new SecureRandom(), true);
            try {
                metadataKeys = keys.metadataKeys();
            } finally {
                keys.close();
            }
        } catch (RuntimeException e) {
            throw VaultOpener.closing(source, e);
        }
        try (source; RecordEngine target = VaultOpener.openEngine(to)) {
            return copy(source, metadataKeys, target, VaultOpener.where(to));
        } catch (EngineException e) {
            throw Errors.translate(e);
        }
    }

    private static Report copy(RecordEngine source, List<String> metadataKeys, RecordEngine target, String where) {
        if (!KeyMetadata.isBlank(target) || target.getMeta(metadataKeys.get(0)) != null) {
            throw new TokenStoreException(ErrorCode.CONFLICT, where + " is not empty; a copy goes into a new store"
                    + " only (remove it, or name another)");
        }
        Chunks chunks = new Chunks(target);
        long[] records = {0};
        source.forEachRecord((id, sealed) -> {
            records[0]++;
            chunks.add(b -> b.putRecord(id, sealed));
        });
        long[] perIndex = new long[Field.INDEXED.length];
        for (Field f : Field.INDEXED) {
            source.forEachIndexEntry(f.index, (key, id) -> {
                perIndex[f.index]++;
                chunks.add(b -> b.putIndex(f.index, key, id));
            });
        }
        chunks.flush();
        Batch meta = new Batch();
        for (String key : metadataKeys) {
            byte[] value = source.getMeta(key);
            if (value != null) {
                meta.putMeta(key, value);
            }
        }
        target.commit(meta);
        check(where, "records", records[0], target.size());
        long entries = 0;
        for (Field f : Field.INDEXED) {
            long[] n = {0};
            target.forEachIndexEntry(f.index, (key, id) -> n[0]++);
            check(where, "entries of the " + f.label + " index", perIndex[f.index], n[0]);
            entries += n[0];
        }
        return new Report(records[0], entries, meta.ops().size());
    }

    private static void check(String where, String what, long copied, long found) {
        if (copied != found) {
            throw new TokenStoreException(ErrorCode.CORRUPT, "the copy in " + where + " holds " + found + " " + what
                    + " where " + copied + " were copied; remove it and copy again");
        }
    }

    /** Changes to the target in commits of {@value #PER_COMMIT}. */
    private static final class Chunks {
        private final RecordEngine target;
        private Batch batch = new Batch();
        private int size;

        Chunks(RecordEngine target) {
            this.target = target;
        }

        void add(Consumer<Batch> change) {
            change.accept(batch);
            if (++size == PER_COMMIT) {
                flush();
            }
        }

        void flush() {
            if (size > 0) {
                target.commit(batch);
                batch = new Batch();
                size = 0;
            }
        }
    }
}
