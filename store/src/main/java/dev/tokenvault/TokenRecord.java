package dev.tokenvault;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An immutable snapshot of one token record: what the store seals, caches and hands out copies of. Absent fields are
 * {@code null}, never {@code ""}.
 *
 * <p>Plaintext encoding (inside the seal): {@code version(1) = 1}, then for each of the ten fields in {@link Field}
 * order a varint {@code n} ({@code 0} = absent, else {@code n - 1} UTF-8 bytes follow) and the bytes.
 */
final class TokenRecord implements Selection.Fields {
    static final int MAX_FIELD_BYTES = 16 * 1024;
    static final int MAX_ID_LENGTH = 128;
    private static final byte ENCODING_VERSION = 1;

    private final String[] values;

    private TokenRecord(String[] values) {
        this.values = values;
    }

    @Override
    public String get(Field f) {
        return values[f.ordinal()];
    }

    String id() {
        return values[Field.ID.ordinal()];
    }

    /**
     * Copies and validates a caller's token: empty strings become absent; every rule failure is INVALID_ARGUMENT
     * naming the field and the rule, never the value. Reads the getters directly: ten calls the JIT inlines.
     */
    static TokenRecord from(OAuthToken token, String what) {
        if (token == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, what + " must not be null");
        }
        TokenRecord r = new TokenRecord(new String[] {
            present(token.getId()), present(token.getUserName()), present(token.getClientId()),
            present(token.getClientSecret()), present(token.getRefreshToken()), present(token.getAccessToken()),
            present(token.getGrantToken()), present(token.getExpiryTime()), present(token.getRedirectUrl()),
            present(token.getApiDomain())});
        for (Field f : Field.ALL) {
            String s = r.values[f.ordinal()];
            if (s != null) {
                validate(f, s);
            }
        }
        return r;
    }

    private static String present(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    static void validate(Field f, String s) {
        if (f == Field.ID) {
            validateId(s);
            return;
        }
        int bytes = utf8Length(f, s);
        if (bytes > MAX_FIELD_BYTES) {
            throw invalid(f.label + " must be at most " + MAX_FIELD_BYTES + " bytes of UTF-8");
        }
        if (f == Field.EXPIRY_TIME) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    throw invalid("expiryTime must be decimal digits (absolute expiry in epoch milliseconds)");
                }
            }
        }
    }

    /** {@code id} as a call's argument: not null, and a valid id. */
    static String checkedId(String id) {
        validateId(nonNullId(id));
        return id;
    }

    /** {@code id} as a call's argument, checked not null only: for a lookup, which checks the rest on a miss. */
    static String nonNullId(String id) {
        if (id == null) {
            throw Errors.invalid("id must not be null");
        }
        return id;
    }

    static void validateId(String id) {
        if (id.isEmpty()) {
            throw invalid("id must not be empty");
        }
        if (id.length() > MAX_ID_LENGTH) {
            throw invalid("id must be at most " + MAX_ID_LENGTH + " characters");
        }
        for (int i = 0; i < id.length(); i++) {
            if (Character.isISOControl(id.charAt(i))) {
                throw invalid("id must not contain control characters");
            }
        }
        utf8Length(Field.ID, id);
    }

    private static int utf8Length(Field f, String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                throw invalid(f.label + " must be valid Unicode text (it has an unpaired surrogate)");
            } else {
                n += 3;
            }
        }
        return n;
    }

    private static TokenStoreException invalid(String message) {
        return new TokenStoreException(ErrorCode.INVALID_ARGUMENT, message);
    }

    TokenRecord withId(String id) {
        String[] v = values.clone();
        v[Field.ID.ordinal()] = id;
        return new TokenRecord(v);
    }

    /** This record with every present field of {@code update} laid over it. */
    TokenRecord mergedWith(TokenRecord update) {
        String[] v = values.clone();
        for (int i = 0; i < v.length; i++) {
            if (update.values[i] != null && i != Field.ID.ordinal()) {
                v[i] = update.values[i];
            }
        }
        return new TokenRecord(v);
    }

    /** A new caller-owned token with every field. */
    OAuthToken toToken() {
        OAuthToken t = new OAuthToken();
        copyInto(t);
        return t;
    }

    /** Sets every field of {@code target} to this record's value (absent fields become null). */
    void copyInto(OAuthToken target) {
        String[] v = values;
        target.setId(v[0]);
        target.setUserName(v[1]);
        target.setClientId(v[2]);
        target.setClientSecret(v[3]);
        target.setRefreshToken(v[4]);
        target.setAccessToken(v[5]);
        target.setGrantToken(v[6]);
        target.setExpiryTime(v[7]);
        target.setRedirectUrl(v[8]);
        target.setApiDomain(v[9]);
    }

    /** Fills the absent fields of {@code query} (null or empty) and sets its id; present fields stay. */
    void fillInto(OAuthToken query) {
        String[] v = values;
        query.setId(v[0]);
        if (absent(query.getUserName())) {
            query.setUserName(v[1]);
        }
        if (absent(query.getClientId())) {
            query.setClientId(v[2]);
        }
        if (absent(query.getClientSecret())) {
            query.setClientSecret(v[3]);
        }
        if (absent(query.getRefreshToken())) {
            query.setRefreshToken(v[4]);
        }
        if (absent(query.getAccessToken())) {
            query.setAccessToken(v[5]);
        }
        if (absent(query.getGrantToken())) {
            query.setGrantToken(v[6]);
        }
        if (absent(query.getExpiryTime())) {
            query.setExpiryTime(v[7]);
        }
        if (absent(query.getRedirectUrl())) {
            query.setRedirectUrl(v[8]);
        }
        if (absent(query.getApiDomain())) {
            query.setApiDomain(v[9]);
        }
    }

    private static boolean absent(String s) {
        return s == null || s.isEmpty();
    }

    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(ENCODING_VERSION);
        for (String s : values) {
            if (s == null) {
                writeVarint(out, 0);
            } else {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                writeVarint(out, b.length + 1L);
                out.write(b, 0, b.length);
                Arrays.fill(b, (byte) 0);
            }
        }
        return out.toByteArray();
    }

    /** Decodes a plaintext; {@code null} when it is malformed. */
    static TokenRecord decode(byte[] plain) {
        ByteBuffer in = ByteBuffer.wrap(plain);
        if (!in.hasRemaining() || in.get() != ENCODING_VERSION) {
            return null;
        }
        String[] v = new String[Field.ALL.length];
        for (int i = 0; i < v.length; i++) {
            long n = readVarint(in);
            if (n < 0 || n - 1 > in.remaining()) {
                return null;
            }
            if (n > 0) {
                int at = in.position();
                int length = (int) (n - 1);
                v[i] = isAscii(plain, at, length) ? new String(plain, at, length, StandardCharsets.ISO_8859_1)
                        : decodeStrictly(plain, at, length);
                if (v[i] == null) {
                    return null;
                }
                in.position(at + length);
            }
        }
        return in.hasRemaining() ? null : new TokenRecord(v);
    }

    /**
     * Whether the bytes are all ASCII, which decode as Latin-1 to the same text in one copy: tokens, ids and URLs
     * are ASCII, and the strict UTF-8 decoder (a decoder, a buffer and a copy per field) was a quarter of a cache-off
     * lookup's time.
     */
    private static boolean isAscii(byte[] b, int from, int length) {
        for (int i = from; i < from + length; i++) {
            if (b[i] < 0) {
                return false;
            }
        }
        return true;
    }

    /** The text of well-formed UTF-8; {@code null} for malformed bytes, which the default String decoding replaces. */
    private static String decodeStrictly(byte[] b, int from, int length) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, from, length))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static long readVarint(ByteBuffer in) {
        long result = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            if (!in.hasRemaining()) {
                return -1;
            }
            byte b = in.get();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return "TokenRecord[id=" + id() + "]";
    }
}
