package dev.tokenvault;

import java.util.List;

/**
 * The token store contract of the Zoho CRM SDKs. Implementations are safe for use by many threads at once.
 *
 * <p>Empty strings count as absent everywhere: they never match, and an absent field reads back as {@code null}.
 * Every token passed in or handed out belongs to the caller: the store keeps its own copies.
 */
public interface TokenStore {

    /**
     * Finds the record that {@code query} identifies, fills every absent field of {@code query} from it, sets its
     * id, and returns {@code query}. The first rule that applies decides, with no fall-through:
     * <ol>
     *   <li>{@code userName} present: the record with that user name;</li>
     *   <li>else {@code accessToken} present and both client id and secret absent: the record with that access
     *       token;</li>
     *   <li>else grant or refresh token present and both client id and secret present: the record with that grant
     *       token, or failing that the record with that refresh token;</li>
     *   <li>else {@code id} present: the record with that id;</li>
     *   <li>else nothing: {@code null}.</li>
     * </ol>
     *
     * @return {@code query}, filled, or {@code null} when no record matches
     * @throws TokenStoreException {@code INVALID_ARGUMENT} for a null query, {@code INTEGRITY} when the stored
     *         record fails authentication, {@code CLOSED} after close
     */
    OAuthToken findToken(OAuthToken query);

    /**
     * Returns a new token holding every stored field of the record with this id.
     *
     * @throws TokenStoreException {@code NOT_FOUND} when no record has this id
     */
    OAuthToken findTokenById(String id);

    /**
     * Inserts or updates a record, atomically and durably: when this returns, the change survives a crash.
     * On return {@code token} carries the whole merged record, id included.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} for a malformed token or an insert without any access,
     *         refresh or grant token; {@code CONFLICT} when the result would share a user name or token value with
     *         another record; nothing is written in either case
     */
    void saveToken(OAuthToken token);

    /**
     * Removes the record with this id and its index entries, durably.
     *
     * @throws TokenStoreException {@code NOT_FOUND} when no record has this id
     */
    void deleteToken(String id);

    /** Returns every record as new tokens; never {@code null}. */
    List<OAuthToken> getTokens();

    /** Removes every record, atomically and durably. */
    void deleteTokens();
}
