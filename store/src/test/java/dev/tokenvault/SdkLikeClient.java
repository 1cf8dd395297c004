package dev.tokenvault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One token object of the Zoho SDK and its {@code getToken()} flow, as far as the store sees it: find the token
 * (with {@code findTokenById} once the object has an id, as the SDK does after its first save), and when
 * {@code expiryTime - now < 5000} ms POST {@code grant_type=refresh_token} to the accounts server and save the new
 * access token and expiry. Like the SDK it takes no lock of its own: each object is used by one thread. It records
 * how long its longest find took.
 */
final class SdkLikeClient {
    /** The SDK's refresh threshold: a token that expires in less than this is refreshed before use. */
    static final long REFRESH_THRESHOLD_MILLIS = 5_000;

    private static final Pattern ACCESS_TOKEN = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern EXPIRES_IN = Pattern.compile("\"expires_in\"\\s*:\\s*(\\d+)");

    private final TokenStore store;
    private final URI accounts;
    private final OAuthToken token;
    /** Runs before each refresh's POST; a test makes it count refreshes or throw. */
    private final Runnable beforeRefresh;
    private long longestFindNanos;

    SdkLikeClient(TokenStore store, URI accounts, OAuthToken token, Runnable beforeRefresh) {
        this.store = store;
        this.accounts = accounts;
        this.token = token;
        this.beforeRefresh = beforeRefresh;
    }

    /** The access token to call the API with: found, and refreshed first when it is about to expire. */
    String getToken() throws IOException {
        long started = System.nanoTime();
        OAuthToken found = token.getId() == null ? store.findToken(token) : store.findTokenById(token.getId());
        longestFindNanos = Math.max(longestFindNanos, System.nanoTime() - started);
        if (Long.parseLong(found.getExpiryTime()) - System.currentTimeMillis() < REFRESH_THRESHOLD_MILLIS) {
            beforeRefresh.run();
            refresh(found);
            store.saveToken(found);
        }
        token.setId(found.getId());
        token.setAccessToken(found.getAccessToken());
        token.setExpiryTime(found.getExpiryTime());
        return found.getAccessToken();
    }

    /** The longest time one find of this client took. */
    long longestFindNanos() {
        return longestFindNanos;
    }

    /** POSTs the refresh and puts the answer's access token and expiry into {@code t}. */
    private void refresh(OAuthToken t) throws IOException {
        String form = "grant_type=refresh_token&client_id=" + encode(t.getClientId()) + "&client_secret="
                + encode(t.getClientSecret()) + "&refresh_token=" + encode(t.getRefreshToken());
        HttpURLConnection c = (HttpURLConnection) accounts.toURL().openConnection();
        try {
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            try (OutputStream out = c.getOutputStream()) {
                out.write(form.getBytes(StandardCharsets.UTF_8));
            }
            int status = c.getResponseCode();
            if (status != 200) {
                throw new IOException("the accounts server answered HTTP " + status);
            }
            String body;
            try (InputStream in = c.getInputStream()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            Matcher access = ACCESS_TOKEN.matcher(body);
            Matcher expiresIn = EXPIRES_IN.matcher(body);
            if (!access.find() || !expiresIn.find()) {
                throw new IOException("the accounts server's answer holds no access token and expiry");
            }
            t.setAccessToken(access.group(1));
            t.setExpiryTime(Long.toString(System.currentTimeMillis() + Long.parseLong(expiresIn.group(1)) * 1000));
        } finally {
            c.disconnect();
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s == null ? "" : s, StandardCharsets.UTF_8);
    }
}
