package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** TokenRecord copies the bean's fields by position: each field must land in its own {@link Field} and back. */
class TokenRecordTest {
    @Test
    void everyFieldIsReadIntoItsOwnPositionAndWrittenBack() {
        for (Field f : Field.ALL) {
            String value = "1" + f.ordinal(); // digits: a valid value of every field, expiryTime too
            OAuthToken t = new OAuthToken();
            BadInputTest.SETTERS.get(f.label).accept(t, value);
            TokenRecord r = TokenRecord.from(t, "token");
            for (Field other : Field.ALL) {
                assertEquals(other == f ? value : null, r.get(other), f + " read into " + other);
            }
            assertEquals(t, r.toToken(), f.label);
            OAuthToken copied = StoreFixtures.full("other");
            r.copyInto(copied);
            assertEquals(t, copied, f.label);
        }
    }

    @Test
    void fillIntoSetsTheIdAndOnlyTheAbsentFields() {
        OAuthToken stored = StoreFixtures.full("stored");
        stored.setId("id-1");
        TokenRecord r = TokenRecord.from(stored, "token");
        for (Field f : Field.ALL) {
            OAuthToken query = new OAuthToken();
            BadInputTest.SETTERS.get(f.label).accept(query, "mine");
            r.fillInto(query);
            for (Field other : Field.ALL) {
                String expected = other == f && f != Field.ID ? "mine" : r.get(other);
                assertEquals(expected, BadInputTest.GETTERS.get(other.label).apply(query), f + " then " + other);
            }
        }
        OAuthToken emptyStrings = new OAuthToken();
        BadInputTest.SETTERS.values().forEach(s -> s.accept(emptyStrings, ""));
        r.fillInto(emptyStrings);
        assertEquals(stored, emptyStrings);
    }

    @Test
    void emptyStringsAreAbsent() {
        OAuthToken t = new OAuthToken();
        BadInputTest.SETTERS.values().forEach(s -> s.accept(t, ""));
        TokenRecord r = TokenRecord.from(t, "token");
        Query q = Query.of(t);
        for (Field f : Field.ALL) {
            assertNull(r.get(f), f.label);
            assertNull(q.get(f), "query's " + f.label);
        }
    }

    @Test
    void decodeReturnsEveryFieldOfAsciiAndOtherTextAndRefusesMalformedUtf8() {
        OAuthToken t = StoreFixtures.full("ascii");
        t.setId("id-1");
        t.setUserName("Zürich 東京 ☃ 😀👩‍💻 e\u0301");
        t.setRedirectUrl("\u0000\u007f");
        TokenRecord r = TokenRecord.from(t, "token");
        assertEquals(t, TokenRecord.decode(r.encode()).toToken());
        byte[] malformed = {1, 3, (byte) 0xC3, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        assertNull(TokenRecord.decode(malformed));
        byte[] wellFormed = {1, 3, (byte) 0xC3, (byte) 0xA9, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        assertEquals("\u00e9", TokenRecord.decode(wellFormed).id());
        byte[] cutShort = {1, 5, 'a', 'b', 0, 0, 0, 0, 0, 0, 0, 0, 0};
        assertNull(TokenRecord.decode(cutShort));
    }
}
