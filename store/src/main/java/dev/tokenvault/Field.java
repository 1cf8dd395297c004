package dev.tokenvault;

import java.util.function.BiConsumer;
import java.util.function.Function;

/** The ten fields of a token record, in their stored order; four of them have a blind index. */
enum Field {
    ID("id", OAuthToken::getId, OAuthToken::setId, -1),
    USER_NAME("userName", OAuthToken::getUserName, OAuthToken::setUserName, 0),
    CLIENT_ID("clientId", OAuthToken::getClientId, OAuthToken::setClientId, -1),
    CLIENT_SECRET("clientSecret", OAuthToken::getClientSecret, OAuthToken::setClientSecret, -1),
    REFRESH_TOKEN("refreshToken", OAuthToken::getRefreshToken, OAuthToken::setRefreshToken, 3),
    ACCESS_TOKEN("accessToken", OAuthToken::getAccessToken, OAuthToken::setAccessToken, 1),
    GRANT_TOKEN("grantToken", OAuthToken::getGrantToken, OAuthToken::setGrantToken, 2),
    EXPIRY_TIME("expiryTime", OAuthToken::getExpiryTime, OAuthToken::setExpiryTime, -1),
    REDIRECT_URL("redirectUrl", OAuthToken::getRedirectUrl, OAuthToken::setRedirectUrl, -1),
    API_DOMAIN("apiDomain", OAuthToken::getApiDomain, OAuthToken::setApiDomain, -1);

    static final Field[] ALL = values();
    /** The indexed fields, by index number. */
    static final Field[] INDEXED = {USER_NAME, ACCESS_TOKEN, GRANT_TOKEN, REFRESH_TOKEN};

    final String label;
    final Function<OAuthToken, String> getter;
    final BiConsumer<OAuthToken, String> setter;
    /** Index number, or -1 when the field has no index. */
    final int index;

    Field(String label, Function<OAuthToken, String> getter, BiConsumer<OAuthToken, String> setter, int index) {
        this.label = label;
        this.getter = getter;
        this.setter = setter;
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
