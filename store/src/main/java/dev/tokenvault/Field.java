package dev.tokenvault;

/**
 * The ten fields of a token record, in their stored order (the order of {@link OAuthToken}'s fields, which
 * {@link TokenRecord} copies by position); four of them have a blind index.
 */
enum Field {
    ID("id", -1),
    USER_NAME("userName", 0),
    CLIENT_ID("clientId", -1),
    CLIENT_SECRET("clientSecret", -1),
    REFRESH_TOKEN("refreshToken", 3),
    ACCESS_TOKEN("accessToken", 1),
    GRANT_TOKEN("grantToken", 2),
    EXPIRY_TIME("expiryTime", -1),
    REDIRECT_URL("redirectUrl", -1),
    API_DOMAIN("apiDomain", -1);

    static final Field[] ALL = values();
    /** The indexed fields, by index number. */
    static final Field[] INDEXED = {USER_NAME, ACCESS_TOKEN, GRANT_TOKEN, REFRESH_TOKEN};

    final String label;
    /** Index number, or -1 when the field has no index. */
    final int index;

    Field(String label, int index) {
        this.label = label;
        this.index = index;
    }

    static String[] indexLabels() {
        String[] labels = new String[INDEXED.length];
        for (int i = 0; i < INDEXED.length; i++) {
            labels[i] = INDEXED[i].label;
        }
        return labels;
    }
}
