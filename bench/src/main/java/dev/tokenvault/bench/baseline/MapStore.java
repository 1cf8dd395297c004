package dev.tokenvault.bench.baseline;

import dev.tokenvault.OAuthToken;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The upper bound for a cached lookup: plaintext rows in {@link ConcurrentHashMap}s, one per lookup column, nothing
 * on disk, no encryption. Reads take no lock; writes are serialised.
 */
public final class MapStore extends ContractBaseline {
    @SuppressWarnings("unchecked")
    private final ConcurrentHashMap<String, String[]>[] byColumn = new ConcurrentHashMap[Rows.WIDTH];
    private final Object writeLock = new Object();

    public MapStore() {
        for (int col : new int[] {Rows.ID, Rows.USER_NAME, Rows.ACCESS_TOKEN, Rows.REFRESH_TOKEN, Rows.GRANT_TOKEN}) {
            byColumn[col] = new ConcurrentHashMap<>();
        }
    }

    @Override
    protected String[] byColumn(int col, String value) {
        return byColumn[col].get(value);
    }

    @Override
    protected <T> T inWriteTransaction(Supplier<T> work) {
        synchronized (writeLock) {
            return work.get();
        }
    }

    @Override
    protected void write(String[] existing, String[] merged) {
        if (existing != null) {
            unindex(existing);
        }
        index(merged);
    }

    private void index(String[] row) {
        for (int col = 0; col < Rows.WIDTH; col++) {
            if (byColumn[col] != null && row[col] != null) {
                byColumn[col].put(row[col], row);
            }
        }
    }

    private void unindex(String[] row) {
        for (int col = 0; col < Rows.WIDTH; col++) {
            if (byColumn[col] != null && row[col] != null) {
                byColumn[col].remove(row[col], row);
            }
        }
    }

    @Override
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        synchronized (writeLock) {
            for (int i = 0; i < count; i++) {
                index(Rows.of(tokens.apply(i)));
            }
        }
    }

    @Override
    public void deleteToken(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        synchronized (writeLock) {
            String[] row = byColumn[Rows.ID].get(id);
            if (row == null) {
                throw Rows.notFound(id);
            }
            unindex(row);
        }
    }

    @Override
    public List<OAuthToken> getTokens() {
        List<OAuthToken> out = new ArrayList<>();
        for (String[] row : byColumn[Rows.ID].values()) {
            out.add(Rows.toToken(row));
        }
        return out;
    }

    @Override
    public void deleteTokens() {
        synchronized (writeLock) {
            for (ConcurrentHashMap<String, String[]> m : byColumn) {
                if (m != null) {
                    m.clear();
                }
            }
        }
    }
}
