package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;

/**
 * Deterministic token data shared by every benchmark and every store: token {@code i} is the same in each JVM, so a
 * store built once on disk can be reopened by later forks and looked up with keys computed independently.
 *
 * <p>Values are shaped like Zoho's: {@code 1000.<32 hex>.<32 hex>} tokens (70 characters), a 34-character client id,
 * a 42-character client secret, epoch-millisecond expiry. Every token has all ten fields, so every lookup path has a
 * key. Ids are decimal (the seed's {@code delete_token} puts the id into its SQL unquoted).
 */
public final class TokenData {
    /** Every token shares one client, as in one SDK deployment. */
    public static final String CLIENT_ID = "1000.5UJQXHC7ZW9K1G0RVBN3M4TYE2PLA8";
    public static final String CLIENT_SECRET = "17565609051856218813123b9a98de52c301722b7d";
    public static final String REDIRECT_URL = "https://app.example.com/oauth/callback";
    public static final String API_DOMAIN = "https://www.zohoapis.com";
    private static final long EXPIRY_BASE = 1_767_225_600_000L; // 2026-01-01
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private TokenData() {
    }

    public static String id(int i) {
        return Long.toString(1_000_000_000L + i);
    }

    public static String userName(int i) {
        return "user" + i + "@example.com";
    }

    public static String accessToken(int i) {
        return token(i, 0x5DEECE66DL);
    }

    public static String refreshToken(int i) {
        return token(i, 0x2545F4914F6CDD1DL);
    }

    public static String grantToken(int i) {
        return token(i, 0x9E3779B97F4A7C15L);
    }

    /** The complete token {@code i}, id included. */
    public static OAuthToken token(int i) {
        return OAuthToken.builder()
                .id(id(i))
                .userName(userName(i))
                .clientId(CLIENT_ID)
                .clientSecret(CLIENT_SECRET)
                .refreshToken(refreshToken(i))
                .accessToken(accessToken(i))
                .grantToken(grantToken(i))
                .expiryTime(Long.toString(EXPIRY_BASE + i * 1000L))
                .redirectUrl(REDIRECT_URL)
                .apiDomain(API_DOMAIN)
                .build();
    }

    /**
     * What the SDK saves after a token refresh: user {@code i}'s name, a new access token (unique per thread and
     * sequence number) and a new expiry.
     */
    public static OAuthToken refresh(int i, long thread, long seq) {
        OAuthToken t = new OAuthToken();
        t.setUserName(userName(i));
        t.setAccessToken(refreshedAccessToken(thread, seq));
        t.setExpiryTime(Long.toString(1_767_225_600_000L + 3_600_000L + seq));
        return t;
    }

    /**
     * A fresh access token for a refresh, shaped as every token here ({@code 1000.<32 hex>.<32 hex>}, 70 characters,
     * as Zoho's are): unique per (thread, sequence number below 2^40), since its first 16 hex digits are a bijection
     * ({@link #mix}) of {@code seq ^ (thread << 40)}.
     */
    public static String refreshedAccessToken(long thread, long seq) {
        long first = mix(seq ^ (thread << 40));
        return "1000." + hex(first) + hex(mix(first + 1)) + "." + hex(mix(first + 2)) + hex(mix(first + 3));
    }

    private static String token(int i, long salt) {
        long a = mix(i * 0x9E3779B97F4A7C15L + salt);
        long b = mix(a ^ salt);
        long c = mix(b + i);
        long d = mix(c ^ (salt >>> 7));
        return "1000." + hex(a) + hex(b) + "." + hex(c) + hex(d);
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static String hex(long v) {
        char[] c = new char[16];
        for (int k = 15; k >= 0; k--) {
            c[k] = HEX[(int) (v & 0xF)];
            v >>>= 4;
        }
        return new String(c);
    }
}
