package dev.tokenvault.cli;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The stored records that a token's id and unique values (user name, access, grant and refresh token) find, each by
 * one lookup: how {@code import} finds conflicts and {@code save} tells an update from an insert, without reading the
 * whole store.
 */
final class StoredHolders {
    private StoredHolders() {
    }

    /** A unique value of a token and the query that finds the stored record holding it. */
    record Lookup(String label, String value, OAuthToken query) { }

    /** The unique values the token has, in the order {@code saveToken}'s selection tries them, each with its query. */
    static List<Lookup> lookups(OAuthToken t) {
        List<Lookup> out = new ArrayList<>(4);
        add(out, "userName", t.getUserName(), OAuthToken.builder().userName(t.getUserName()));
        add(out, "accessToken", t.getAccessToken(), OAuthToken.builder().accessToken(t.getAccessToken()));
        // Rule 3 finds by grant or refresh token whenever client id and secret are both present; their values do not
        // take part in the match.
        add(out, "grantToken", t.getGrantToken(),
                OAuthToken.builder().grantToken(t.getGrantToken()).clientId("-").clientSecret("-"));
        add(out, "refreshToken", t.getRefreshToken(),
                OAuthToken.builder().refreshToken(t.getRefreshToken()).clientId("-").clientSecret("-"));
        return out;
    }

    private static void add(List<Lookup> out, String label, String value, OAuthToken.Builder query) {
        if (value != null) {
            out.add(new Lookup(label, value, query.build()));
        }
    }

    /**
     * The ids of the stored records that {@code t} could select in a save: the one with its id when it has one, else
     * those holding one of its unique values. A save updates one of these or inserts a record under an id none has.
     */
    static Set<String> ids(TokenVault vault, OAuthToken t) {
        Set<String> ids = new HashSet<>();
        if (t.getId() != null) {
            if (byId(vault, t.getId()) != null) {
                ids.add(t.getId());
            }
            return ids;
        }
        for (Lookup lookup : lookups(t)) {
            OAuthToken holder = vault.findToken(lookup.query());
            if (holder != null) {
                ids.add(holder.getId());
            }
        }
        return ids;
    }

    /** The stored record with {@code id}, or null when there is none. */
    static OAuthToken byId(TokenVault vault, String id) {
        try {
            return vault.findTokenById(id);
        } catch (TokenStoreException e) {
            if (e.code() != ErrorCode.NOT_FOUND) {
                throw e;
            }
            return null;
        }
    }
}
