package dev.tokenvault;

import dev.tokenvault.engine.RecordEngine;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one write action decides on: the stored state (never the cache), with the changes it has planned so far laid
 * over it, so that the tokens of one {@code saveTokens} call see each other. Lives under the write lock for one
 * action, so the stored state under it does not change, and it keeps what it loaded: each lookup value costs at most
 * one HMAC ({@link #blindKey}) and each record is opened at most once, however often the contract rules ask.
 */
final class WriteView implements Selection.Reader {
    private final RecordReader reader;
    private final Keys keys; // the index keys cannot change under the write lock
    private final Map<LookupCache.LookupKey, TokenRecord> overlay = new HashMap<>(); // a null value: removed
    private final Map<LookupCache.LookupKey, TokenRecord> loaded = new HashMap<>(); // a null value: none stored
    private final Map<LookupCache.LookupKey, byte[]> blindKeys = new HashMap<>();
    private final Map<String, TokenRecord> opened = new HashMap<>();
    private final List<TokenRecord> touched = new ArrayList<>();

    WriteView(RecordReader reader, Keys keys) {
        this.reader = reader;
        this.keys = keys;
    }

    @Override
    public TokenRecord find(Field field, String value) {
        LookupCache.LookupKey key = new LookupCache.LookupKey(field, value);
        if (overlay.containsKey(key)) {
            return overlay.get(key);
        }
        if (loaded.containsKey(key)) {
            return loaded.get(key);
        }
        TokenRecord r = load(field, value);
        loaded.put(key, r);
        return r;
    }

    private TokenRecord load(Field field, String value) {
        if (field == Field.ID) {
            return reader.byId(keys, value, opened);
        }
        RecordEngine.Entry entry = reader.entry(keys, field, blindKey(field, value));
        if (entry == RecordEngine.GENERATION_CHANGED) {
            // cannot happen while the write lock is held (only a write switches generations); the reader's path is safe
            return reader.find(field, value);
        }
        return entry == null ? null : reader.fromIndex(keys, field, value, entry, opened);
    }

    /** The blind-index key of {@code value} in the current generation, computed once per view. */
    byte[] blindKey(Field field, String value) {
        return blindKeys.computeIfAbsent(new LookupCache.LookupKey(field, value), k -> keys.blindKey(field, value));
    }

    /** Lays the change from {@code old} to {@code now} (either may be null) over the stored state. */
    void replace(TokenRecord old, TokenRecord now) {
        if (old != null) {
            putAll(old, null);
            touched.add(old);
        }
        if (now != null) {
            putAll(now, now);
            touched.add(now);
        }
    }

    private void putAll(TokenRecord r, TokenRecord value) {
        overlay.put(new LookupCache.LookupKey(Field.ID, r.id()), value);
        for (Field f : Field.INDEXED) {
            if (r.get(f) != null) {
                overlay.put(new LookupCache.LookupKey(f, r.get(f)), value);
            }
        }
    }

    /** Every record this view replaced or wrote: what the cache must forget once the batch is staged. */
    List<TokenRecord> touched() {
        return touched;
    }
}
