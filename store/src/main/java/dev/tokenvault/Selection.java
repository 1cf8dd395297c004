package dev.tokenvault;

import java.util.function.Supplier;

/**
 * The contract's rules for which record a call means, written once and used by readers ({@code findToken}, through
 * the cache) and writers ({@code saveToken}, through a {@link WriteView}) alike: the branches of {@code findToken},
 * the row selection and merge of a save, the rule that a new token needs a token, and uniqueness of indexed values.
 */
final class Selection {
    private Selection() {
    }

    /** Reads one record by field and value; {@code null} when there is none. */
    @FunctionalInterface
    interface Reader {
        TokenRecord find(Field field, String value);
    }

    /**
     * The fields a selection reads, each absent as {@code null}: a token being saved ({@link TokenRecord}) or a
     * {@code findToken} query read in place ({@link Query}).
     */
    interface Fields {
        String get(Field f);
    }

    /** Which of the contract's branches 1 to 3 applies to a query; the conditions are written here only. */
    enum ContentBranch {
        USER_NAME, ACCESS_TOKEN, GRANT_OR_REFRESH, NONE;

        static ContentBranch of(Fields q) {
            boolean clientId = q.get(Field.CLIENT_ID) != null;
            boolean clientSecret = q.get(Field.CLIENT_SECRET) != null;
            if (q.get(Field.USER_NAME) != null) {
                return USER_NAME;
            }
            if (q.get(Field.ACCESS_TOKEN) != null && !clientId && !clientSecret) {
                return ACCESS_TOKEN;
            }
            if ((q.get(Field.GRANT_TOKEN) != null || q.get(Field.REFRESH_TOKEN) != null) && clientId && clientSecret) {
                return GRANT_OR_REFRESH;
            }
            return NONE;
        }
    }

    /** What a save decided: the record it updates ({@code null}: a new one) and the record it writes. */
    record SaveDecision(TokenRecord existing, TokenRecord merged) { }

    /**
     * {@code findToken}: branches 1 to 4 of the contract; the first that applies decides.
     *
     * @param branch {@code ContentBranch.of(q)}, which the caller has computed for {@link #lookupField} already
     */
    static TokenRecord select(Fields q, ContentBranch branch, Reader reader) {
        if (branch != ContentBranch.NONE) {
            return selectByContent(q, branch, reader);
        }
        String id = q.get(Field.ID);
        return id == null ? null : reader.find(Field.ID, id);
    }

    /**
     * The field {@link #select} looks {@code q} up by first: the user name, the access token, the grant token (else
     * the refresh token), or the id; {@code null} when no branch applies. Any other field it may read by (the refresh
     * token after a grant token that matched nothing) is not this one.
     *
     * @param branch {@code ContentBranch.of(q)}
     */
    static Field lookupField(Fields q, ContentBranch branch) {
        return switch (branch) {
            case USER_NAME -> Field.USER_NAME;
            case ACCESS_TOKEN -> Field.ACCESS_TOKEN;
            case GRANT_OR_REFRESH -> q.get(Field.GRANT_TOKEN) != null ? Field.GRANT_TOKEN : Field.REFRESH_TOKEN;
            case NONE -> q.get(Field.ID) != null ? Field.ID : null;
        };
    }

    /** Branches 1 to 3; {@code null} when none applies or the one that applies matches nothing. */
    private static TokenRecord selectByContent(Fields q, ContentBranch branch, Reader reader) {
        switch (branch) {
            case USER_NAME:
                return reader.find(Field.USER_NAME, q.get(Field.USER_NAME));
            case ACCESS_TOKEN:
                return reader.find(Field.ACCESS_TOKEN, q.get(Field.ACCESS_TOKEN));
            case GRANT_OR_REFRESH:
                TokenRecord byGrant = q.get(Field.GRANT_TOKEN) == null ? null
                        : reader.find(Field.GRANT_TOKEN, q.get(Field.GRANT_TOKEN));
                if (byGrant != null || q.get(Field.REFRESH_TOKEN) == null) {
                    return byGrant;
                }
                return reader.find(Field.REFRESH_TOKEN, q.get(Field.REFRESH_TOKEN));
            default:
                return null;
        }
    }

    /**
     * {@code saveToken}: selects the record {@code in} updates, merges, and checks the result; {@code newId} names a
     * new record that has no id.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} for a new token without a token, {@code CONFLICT} when
     *         the result would share an indexed value with another record
     */
    static SaveDecision decideSave(TokenRecord in, Reader view, Supplier<String> newId) {
        TokenRecord existing = selectForSave(in, view);
        TokenRecord merged;
        if (existing == null) {
            requireTokenForNew(in);
            merged = in.id() != null ? in : in.withId(newId.get());
        } else {
            merged = existing.mergedWith(in);
        }
        checkUnique(merged, existing, view);
        return new SaveDecision(existing, merged);
    }

    /** Row selection for a save: (a) by id, (b) branches 1 to 3, (c) a record holding one of the tokens. */
    private static TokenRecord selectForSave(TokenRecord in, Reader view) {
        if (in.id() != null) {
            return view.find(Field.ID, in.id());
        }
        TokenRecord byContent = selectByContent(in, ContentBranch.of(in), view);
        if (byContent != null) {
            return byContent;
        }
        for (Field f : new Field[] {Field.ACCESS_TOKEN, Field.GRANT_TOKEN, Field.REFRESH_TOKEN}) {
            String v = in.get(f);
            TokenRecord holder = v == null ? null : view.find(f, v);
            if (holder != null && compatibleUsers(holder.get(Field.USER_NAME), in.get(Field.USER_NAME))) {
                return holder;
            }
        }
        return null;
    }

    /** A token that creates a record must carry something to authenticate with. */
    static void requireTokenForNew(TokenRecord in) {
        if (in.get(Field.ACCESS_TOKEN) == null && in.get(Field.REFRESH_TOKEN) == null
                && in.get(Field.GRANT_TOKEN) == null) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT,
                    "a new token needs at least one of accessToken, refreshToken or grantToken");
        }
    }

    private static boolean compatibleUsers(String a, String b) {
        return a == null || b == null || a.equals(b);
    }

    /**
     * Each unique value of {@code merged} must be free or held by {@code merged} itself. A value {@code existing} (the
     * record being updated) already holds is its own and needs no lookup: a refresh that changes only the access token
     * looks up that one value (on a shared store each lookup is a locked read, a round trip).
     */
    private static void checkUnique(TokenRecord merged, TokenRecord existing, Reader view) {
        for (Field f : Field.INDEXED) {
            String v = merged.get(f);
            if (v == null || existing != null && v.equals(existing.get(f))) {
                continue;
            }
            TokenRecord owner = view.find(f, v);
            if (owner != null && !owner.id().equals(merged.id())) {
                throw new TokenStoreException(ErrorCode.CONFLICT,
                        f.label + " is already held by record " + owner.id() + "; each " + f.label
                                + " must belong to one record");
            }
        }
    }
}
