package dev.tokenvault;

/**
 * A caller's {@code findToken} query, read in place: {@link Selection} reads its fields through the getters, and
 * {@link #validateExcept} checks them against the field rules. Copying the query into a {@link TokenRecord} (an array of ten, allocated on
 * every call) and checking the copy took half the samples of a cache hit by user name (bench/README.md); the query is
 * the caller's, which does not change it during the call, so nothing needs the copy.
 */
final class Query implements Selection.Fields {
    private final OAuthToken token;

    private Query(OAuthToken token) {
        this.token = token;
    }

    /** The query {@code token}; {@code INVALID_ARGUMENT} when it is null. */
    static Query of(OAuthToken token) {
        if (token == null) {
            throw Errors.invalid("query must not be null");
        }
        return new Query(token);
    }

    /** The field's value; empty strings are absent ({@code null}), as in a stored record. */
    @Override
    public String get(Field f) {
        String v = switch (f) {
            case ID -> token.getId();
            case USER_NAME -> token.getUserName();
            case CLIENT_ID -> token.getClientId();
            case CLIENT_SECRET -> token.getClientSecret();
            case REFRESH_TOKEN -> token.getRefreshToken();
            case ACCESS_TOKEN -> token.getAccessToken();
            case GRANT_TOKEN -> token.getGrantToken();
            case EXPIRY_TIME -> token.getExpiryTime();
            case REDIRECT_URL -> token.getRedirectUrl();
            case API_DOMAIN -> token.getApiDomain();
        };
        return v == null || v.isEmpty() ? null : v;
    }

    /**
     * Checks the rules of every present field but {@code skipped}: the field the query is looked up by, whose value
     * {@link LookupCache#find} checks before it reaches the store. Field by field through the getters: a loop over
     * the fields through {@link #get} took a third of the samples of a hit by user name (bench/README.md).
     */
    void validateExcept(Field skipped) {
        check(Field.ID, token.getId(), skipped);
        check(Field.USER_NAME, token.getUserName(), skipped);
        check(Field.CLIENT_ID, token.getClientId(), skipped);
        check(Field.CLIENT_SECRET, token.getClientSecret(), skipped);
        check(Field.REFRESH_TOKEN, token.getRefreshToken(), skipped);
        check(Field.ACCESS_TOKEN, token.getAccessToken(), skipped);
        check(Field.GRANT_TOKEN, token.getGrantToken(), skipped);
        check(Field.EXPIRY_TIME, token.getExpiryTime(), skipped);
        check(Field.REDIRECT_URL, token.getRedirectUrl(), skipped);
        check(Field.API_DOMAIN, token.getApiDomain(), skipped);
    }

    private static void check(Field f, String value, Field skipped) {
        if (f != skipped && value != null && !value.isEmpty()) {
            TokenRecord.validate(f, value);
        }
    }
}
