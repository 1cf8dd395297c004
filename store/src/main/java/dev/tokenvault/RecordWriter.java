package dev.tokenvault;

import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What saves and deletes change: each decides against a {@link WriteView} with the contract rules of
 * {@link Selection}, seals with {@link KeyState}, and stages one batch through the {@link WritePipeline}: the
 * records, their index entries (in the current generation, and in the one an index rebuild is building) and the seal
 * counts. Then the cache forgets what changed, and once it is durable, the refresh leases of the changed records end.
 */
final class RecordWriter {
    private static final int ID_BYTES = 16;

    private final RecordEngine engine;
    private final RecordReader reader;
    private final KeyState keyState;
    private final WritePipeline pipeline;
    private final LookupCache cache;
    private final SecureRandom random;
    /** Refresh single-flight; {@code null} when off. */
    private final RefreshLeases leases;
    // guarded by the write lock: while non-null, every write also updates this index generation
    private IndexBuild build;

    /** An index generation being built beside the current one, and the blind index it is built with. */
    record IndexBuild(int generation, BlindIndex blindIndex) { }

    RecordWriter(RecordEngine engine, RecordReader reader, KeyState keyState, WritePipeline pipeline,
                 LookupCache cache, SecureRandom random, RefreshLeases leases) {
        this.engine = engine;
        this.reader = reader;
        this.keyState = keyState;
        this.pipeline = pipeline;
        this.cache = cache;
        this.random = random;
        this.leases = leases;
    }

    /** Under the write lock: from now on every write also updates {@code next} ({@code null}: no build runs). */
    void buildAlongside(IndexBuild next) {
        build = next;
    }

    /**
     * {@link TokenVault#saveTokens}: checks the list and each token's fields (naming its position when there are
     * several), saves them as {@link #save}, and copies each merged record, id included, back into its token.
     */
    void saveTokens(List<OAuthToken> tokens) {
        if (tokens == null) {
            throw Errors.invalid("tokens must not be null");
        }
        if (tokens.size() > TokenVault.MAX_TOKENS_PER_SAVE) {
            throw Errors.invalid("tokens must hold at most " + TokenVault.MAX_TOKENS_PER_SAVE + " tokens per call");
        }
        List<TokenRecord> in = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            try {
                in.add(TokenRecord.from(tokens.get(i), "token"));
            } catch (TokenStoreException e) {
                throw tokens.size() == 1 ? e : Errors.atPosition(i, e);
            }
        }
        List<TokenRecord> merged = save(in);
        for (int i = 0; i < tokens.size(); i++) {
            merged.get(i).copyInto(tokens.get(i));
        }
    }

    /**
     * Saves {@code in} in order, in one atomic, durable commit; returns the merged records.
     *
     * @throws TokenStoreException as {@link Selection#decideSave}, naming the position when there are several
     */
    List<TokenRecord> save(List<TokenRecord> in) {
        List<TokenRecord> merged = new ArrayList<>(in.size());
        pipeline.write(() -> {
            merged.clear();
            WriteView view = new WriteView(reader, keyState.current());
            Batch batch = new Batch();
            for (int i = 0; i < in.size(); i++) {
                try {
                    merged.add(planSave(view, in.get(i), batch));
                } catch (TokenStoreException e) {
                    throw in.size() == 1 ? e : Errors.atPosition(i, e);
                }
            }
            if (!batch.isEmpty()) {
                pipeline.stage(batch);
                view.touched().forEach(cache::invalidate);
            }
        });
        if (leases != null) {
            merged.forEach(r -> leases.changed(r.id()));
        }
        return merged;
    }

    /** Decides one upsert against {@code view}, adds its changes to {@code batch} and to the view. */
    private TokenRecord planSave(WriteView view, TokenRecord in, Batch batch) {
        Selection.SaveDecision d = Selection.decideSave(in, view, this::newId);
        TokenRecord merged = d.merged();
        batch.putRecord(merged.id(), keyState.seal(merged, batch));
        indexChanges(batch, d.existing(), merged, view);
        view.replace(d.existing(), merged);
        return merged;
    }

    /**
     * Adds the index changes from {@code old} to {@code now} (either may be null) to {@code batch}: in the current
     * generation, and in the generation being built, if any, so that a build running beside writes stays exact.
     */
    private void indexChanges(Batch batch, TokenRecord old, TokenRecord now, WriteView view) {
        IndexBuild b = build;
        for (Field f : Field.INDEXED) {
            String before = old == null ? null : old.get(f);
            String after = now == null ? null : now.get(f);
            if (before != null && !before.equals(after)) {
                batch.removeIndex(f.index, view.blindKey(f, before));
                if (b != null) {
                    batch.removeIndexIn(b.generation(), f.index, b.blindIndex().compute(f.index, before));
                }
            }
            if (after != null && !after.equals(before)) {
                batch.putIndex(f.index, view.blindKey(f, after), now.id());
                if (b != null) {
                    batch.putIndexIn(b.generation(), f.index, b.blindIndex().compute(f.index, after), now.id());
                }
            }
        }
    }

    /** Deletes the record {@code id}, also one that fails authentication. */
    void delete(String id) {
        pipeline.write(() -> {
            WriteView view = new WriteView(reader, keyState.current());
            TokenRecord existing;
            try {
                existing = view.find(Field.ID, id);
            } catch (TokenStoreException e) {
                if (e.code() != ErrorCode.INTEGRITY) {
                    throw e;
                }
                pipeline.stage(removalOfDamaged(id));
                cache.invalidateAll(); // its values are unknown, so are the cache keys that might name it
                return;
            }
            if (existing == null) {
                throw Errors.notFound(id);
            }
            Batch batch = new Batch().removeRecord(id);
            indexChanges(batch, existing, null, view);
            pipeline.stage(batch);
            cache.invalidate(existing);
        });
        if (leases != null) {
            leases.changed(id);
        }
    }

    /**
     * A record that fails authentication cannot tell which index entries are its own, so they are found by the id
     * they name (a scan of the index maps: rare, and only on this path). Removing it is how an operator clears a
     * damaged record without deleting every token.
     */
    private Batch removalOfDamaged(String id) {
        Batch batch = new Batch().removeRecord(id);
        for (Field f : Field.INDEXED) {
            Errors.run(() -> engine.forEachIndexEntry(f.index, (key, named) -> {
                if (id.equals(named)) {
                    batch.removeIndex(f.index, key);
                }
            }));
        }
        return batch;
    }

    /** Deletes every record and index entry; the keys and seal counts stay. */
    void deleteAll() {
        pipeline.write(() -> {
            pipeline.stage(new Batch().clearAll());
            cache.invalidateAll();
        });
        if (leases != null) {
            leases.changedAll();
        }
    }

    /** 128 random bits as 32 lowercase hex digits: URL-safe, and never mistaken for a command-line option. */
    private String newId() {
        byte[] b = new byte[ID_BYTES];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
