package dev.tokenvault.bench.baseline;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;

/**
 * The floor of a cached lookup that hands out a copy: one {@link ConcurrentHashMap} get by the query's key, then a
 * new token with its ten fields copied. No contract logic (no branch rules, no merge, no validation) and no writes:
 * a read-only baseline for {@code FindTokenBenchmark}, against which a tokenvault cache hit is measured (issue 12: a
 * hit should reach at least a third of this throughput). {@link MapStore} is the map baseline that keeps the contract.
 */
public final class MapCopyStore implements TokenStore {
    private final ConcurrentHashMap<String, OAuthToken> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, OAuthToken> byUserName = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, OAuthToken> byAccessToken = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, OAuthToken> byRefreshToken = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, OAuthToken> byGrantToken = new ConcurrentHashMap<>();

    /** Loads tokens 0..count-1, each under its id and each of its four lookup values. */
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        for (int i = 0; i < count; i++) {
            OAuthToken t = tokens.apply(i).copy();
            byId.put(t.getId(), t);
            putIfPresent(byUserName, t.getUserName(), t);
            putIfPresent(byAccessToken, t.getAccessToken(), t);
            putIfPresent(byRefreshToken, t.getRefreshToken(), t);
            putIfPresent(byGrantToken, t.getGrantToken(), t);
        }
    }

    private static void putIfPresent(ConcurrentHashMap<String, OAuthToken> map, String key, OAuthToken t) {
        if (key != null) {
            map.put(key, t);
        }
    }

    /** The token under the query's first present key (user name, access, grant, refresh token, id), copied. */
    @Override
    public OAuthToken findToken(OAuthToken query) {
        OAuthToken found;
        if (query.getUserName() != null) {
            found = byUserName.get(query.getUserName());
        } else if (query.getAccessToken() != null) {
            found = byAccessToken.get(query.getAccessToken());
        } else if (query.getGrantToken() != null) {
            found = byGrantToken.get(query.getGrantToken());
        } else if (query.getRefreshToken() != null) {
            found = byRefreshToken.get(query.getRefreshToken());
        } else {
            found = query.getId() == null ? null : byId.get(query.getId());
        }
        return found == null ? null : found.copy();
    }

    @Override
    public OAuthToken findTokenById(String id) {
        OAuthToken found = byId.get(id);
        if (found == null) {
            throw Rows.notFound(id);
        }
        return found.copy();
    }

    @Override
    public List<OAuthToken> getTokens() {
        List<OAuthToken> out = new ArrayList<>();
        byId.values().forEach(t -> out.add(t.copy()));
        return out;
    }

    @Override
    public void saveToken(OAuthToken token) {
        throw readOnly();
    }

    @Override
    public void deleteToken(String id) {
        throw readOnly();
    }

    @Override
    public void deleteTokens() {
        throw readOnly();
    }

    private static UnsupportedOperationException readOnly() {
        return new UnsupportedOperationException("map-copy is a lookup baseline; it has no writes");
    }
}
