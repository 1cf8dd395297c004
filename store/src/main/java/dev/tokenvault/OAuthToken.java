package dev.tokenvault;

import java.util.Objects;

/**
 * An OAuth token record, a mutable bean shaped like the Zoho SDK's token.
 *
 * <p>{@code expiryTime} is the absolute expiry in epoch milliseconds, as decimal digits. An empty string is treated
 * as absent by the store. {@link #toString()} never prints a token, the client secret or the user name.
 *
 * <p>Instances are not thread-safe; the store never keeps a reference to one.
 */
public final class OAuthToken {
    private String id;
    private String userName;
    private String clientId;
    private String clientSecret;
    private String refreshToken;
    private String accessToken;
    private String grantToken;
    private String expiryTime;
    private String redirectUrl;
    private String apiDomain;

    /** An empty token; every field {@code null}. */
    public OAuthToken() {
    }

    /** A fluent builder; {@code OAuthToken.builder().userName("u").refreshToken(rt).build()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** A new token with the same field values. */
    public OAuthToken copy() {
        OAuthToken c = new OAuthToken();
        c.id = id;
        c.userName = userName;
        c.clientId = clientId;
        c.clientSecret = clientSecret;
        c.refreshToken = refreshToken;
        c.accessToken = accessToken;
        c.grantToken = grantToken;
        c.expiryTime = expiryTime;
        c.redirectUrl = redirectUrl;
        c.apiDomain = apiDomain;
        return c;
    }

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getUserName() { return userName; }
    public void setUserName(String userName) { this.userName = userName; }
    public String getClientId() { return clientId; }
    public void setClientId(String clientId) { this.clientId = clientId; }
    public String getClientSecret() { return clientSecret; }
    public void setClientSecret(String clientSecret) { this.clientSecret = clientSecret; }
    public String getRefreshToken() { return refreshToken; }
    public void setRefreshToken(String refreshToken) { this.refreshToken = refreshToken; }
    public String getAccessToken() { return accessToken; }
    public void setAccessToken(String accessToken) { this.accessToken = accessToken; }
    public String getGrantToken() { return grantToken; }
    public void setGrantToken(String grantToken) { this.grantToken = grantToken; }
    public String getExpiryTime() { return expiryTime; }
    public void setExpiryTime(String expiryTime) { this.expiryTime = expiryTime; }
    public String getRedirectUrl() { return redirectUrl; }
    public void setRedirectUrl(String redirectUrl) { this.redirectUrl = redirectUrl; }
    public String getApiDomain() { return apiDomain; }
    public void setApiDomain(String apiDomain) { this.apiDomain = apiDomain; }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof OAuthToken)) {
            return false;
        }
        OAuthToken t = (OAuthToken) o;
        return Objects.equals(id, t.id) && Objects.equals(userName, t.userName)
                && Objects.equals(clientId, t.clientId) && Objects.equals(clientSecret, t.clientSecret)
                && Objects.equals(refreshToken, t.refreshToken) && Objects.equals(accessToken, t.accessToken)
                && Objects.equals(grantToken, t.grantToken) && Objects.equals(expiryTime, t.expiryTime)
                && Objects.equals(redirectUrl, t.redirectUrl) && Objects.equals(apiDomain, t.apiDomain);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, userName, clientId, clientSecret, refreshToken, accessToken, grantToken,
                expiryTime, redirectUrl, apiDomain);
    }

    /**
     * Names every field; the tokens, the client secret and the user name appear only as {@code ***} when present.
     * The user name is not a credential, but it is personal data (usually an e-mail address) that the store never
     * writes in the clear, so a log line must not either. The client id, the id, the expiry and the URLs are printed:
     * the client id identifies the OAuth application, not a user, and travels in the clear in every OAuth redirect.
     */
    @Override
    public String toString() {
        return "OAuthToken{id=" + id + ", userName=" + mask(userName) + ", clientId=" + clientId
                + ", clientSecret=" + mask(clientSecret) + ", refreshToken=" + mask(refreshToken)
                + ", accessToken=" + mask(accessToken) + ", grantToken=" + mask(grantToken)
                + ", expiryTime=" + expiryTime + ", redirectUrl=" + redirectUrl + ", apiDomain=" + apiDomain + '}';
    }

    private static String mask(String secret) {
        return secret == null ? "null" : "***";
    }

    /** Builds an {@link OAuthToken}; unset fields stay {@code null}. */
    public static final class Builder {
        private final OAuthToken token = new OAuthToken();

        private Builder() {
        }

        public Builder id(String v) { token.id = v; return this; }
        public Builder userName(String v) { token.userName = v; return this; }
        public Builder clientId(String v) { token.clientId = v; return this; }
        public Builder clientSecret(String v) { token.clientSecret = v; return this; }
        public Builder refreshToken(String v) { token.refreshToken = v; return this; }
        public Builder accessToken(String v) { token.accessToken = v; return this; }
        public Builder grantToken(String v) { token.grantToken = v; return this; }
        public Builder expiryTime(String v) { token.expiryTime = v; return this; }
        public Builder redirectUrl(String v) { token.redirectUrl = v; return this; }
        public Builder apiDomain(String v) { token.apiDomain = v; return this; }

        /** A new token with the values set so far; the builder may be reused. */
        public OAuthToken build() {
            return token.copy();
        }
    }
}
