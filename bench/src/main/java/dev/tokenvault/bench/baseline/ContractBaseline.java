package dev.tokenvault.bench.baseline;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import dev.tokenvault.TokenStoreException;
import java.security.SecureRandom;
import java.util.function.Supplier;

/**
 * The TokenStore contract of docs/ARCHITECTURE.md section 3 over a row lookup, shared by the baselines that implement
 * it correctly (tuned-sqlite, csv-file, map), so that they differ only in how they store and find rows.
 */
public abstract class ContractBaseline implements TokenStore {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The row whose column {@code col} equals {@code value}, or {@code null}. */
    protected abstract String[] byColumn(int col, String value);

    /** Runs {@code work} as one atomic write; lookups made inside it see the transaction's state. */
    protected abstract <T> T inWriteTransaction(Supplier<T> work);

    /** Inside a write transaction: replaces {@code existing} (null for an insert) by {@code merged}. */
    protected abstract void write(String[] existing, String[] merged);

    /** Bulk load for benchmark setup: rows that are known to be valid and unique, inserted as fast as possible. */
    public abstract void bulkLoad(int count, java.util.function.IntFunction<OAuthToken> tokens);

    @Override
    public OAuthToken findToken(OAuthToken query) {
        if (query == null) {
            throw Rows.invalid("query must not be null");
        }
        String[] row = select(Rows.of(query));
        if (row == null) {
            return null;
        }
        Rows.fillAbsent(row, query);
        return query;
    }

    /** Branches 1 to 4 of findToken: the first that applies decides. */
    protected String[] select(String[] q) {
        if (appliesByContent(q)) {
            return selectByContent(q);
        }
        return q[Rows.ID] == null ? null : byColumn(Rows.ID, q[Rows.ID]);
    }

    private static boolean appliesByContent(String[] q) {
        boolean cid = q[Rows.CLIENT_ID] != null;
        boolean cs = q[Rows.CLIENT_SECRET] != null;
        return q[Rows.USER_NAME] != null
                || (q[Rows.ACCESS_TOKEN] != null && !cid && !cs)
                || ((q[Rows.GRANT_TOKEN] != null || q[Rows.REFRESH_TOKEN] != null) && cid && cs);
    }

    /** Branches 1 to 3; null when none applies or the one that applies matches nothing. */
    private String[] selectByContent(String[] q) {
        boolean cid = q[Rows.CLIENT_ID] != null;
        boolean cs = q[Rows.CLIENT_SECRET] != null;
        if (q[Rows.USER_NAME] != null) {
            return byColumn(Rows.USER_NAME, q[Rows.USER_NAME]);
        }
        if (q[Rows.ACCESS_TOKEN] != null && !cid && !cs) {
            return byColumn(Rows.ACCESS_TOKEN, q[Rows.ACCESS_TOKEN]);
        }
        if ((q[Rows.GRANT_TOKEN] != null || q[Rows.REFRESH_TOKEN] != null) && cid && cs) {
            String[] byGrant = q[Rows.GRANT_TOKEN] == null ? null : byColumn(Rows.GRANT_TOKEN, q[Rows.GRANT_TOKEN]);
            if (byGrant != null || q[Rows.REFRESH_TOKEN] == null) {
                return byGrant;
            }
            return byColumn(Rows.REFRESH_TOKEN, q[Rows.REFRESH_TOKEN]);
        }
        return null;
    }

    @Override
    public OAuthToken findTokenById(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        String[] row = byColumn(Rows.ID, id);
        if (row == null) {
            throw Rows.notFound(id);
        }
        return Rows.toToken(row);
    }

    @Override
    public void saveToken(OAuthToken token) {
        if (token == null) {
            throw Rows.invalid("token must not be null");
        }
        String[] in = Rows.of(token);
        String[] merged = inWriteTransaction(() -> {
            String[] existing = selectForSave(in);
            String[] m;
            if (existing == null) {
                if (in[Rows.ACCESS_TOKEN] == null && in[Rows.REFRESH_TOKEN] == null && in[Rows.GRANT_TOKEN] == null) {
                    throw Rows.invalid("a new token needs at least one of accessToken, refreshToken or grantToken");
                }
                m = in.clone();
                if (m[Rows.ID] == null) {
                    m[Rows.ID] = newId();
                }
            } else {
                m = Rows.merge(existing, in);
            }
            for (int col : Rows.UNIQUE) {
                if (m[col] != null) {
                    String[] holder = byColumn(col, m[col]);
                    if (holder != null && !holder[Rows.ID].equals(m[Rows.ID])) {
                        throw new TokenStoreException(ErrorCode.CONFLICT, Rows.COLUMNS[col]
                                + " is already held by record " + holder[Rows.ID]);
                    }
                }
            }
            write(existing, m);
            return m;
        });
        Rows.copyInto(merged, token);
    }

    /** (a) by id, (b) branches 1 to 3, (c) the record holding one of the tokens, when the user names agree. */
    private String[] selectForSave(String[] in) {
        if (in[Rows.ID] != null) {
            return byColumn(Rows.ID, in[Rows.ID]);
        }
        if (appliesByContent(in)) {
            String[] byContent = selectByContent(in);
            if (byContent != null) {
                return byContent;
            }
        }
        for (int col : new int[] {Rows.ACCESS_TOKEN, Rows.GRANT_TOKEN, Rows.REFRESH_TOKEN}) {
            String[] holder = in[col] == null ? null : byColumn(col, in[col]);
            if (holder != null && (holder[Rows.USER_NAME] == null || in[Rows.USER_NAME] == null
                    || holder[Rows.USER_NAME].equals(in[Rows.USER_NAME]))) {
                return holder;
            }
        }
        return null;
    }

    /** A random decimal id (the SDK stores' ids are numeric). */
    protected static String newId() {
        return Long.toString(1_000_000_000_000L + (RANDOM.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) % 8_000_000_000_000_000L);
    }
}
