package dev.tokenvault.crypto;

/**
 * The keys derived from the master key: HKDF-SHA256 with the store id as salt gives the keyring wrap key
 * ({@code info = "tokenvault/v1/keyring-wrap"}) and the header-MAC key ({@code info = "tokenvault/v1/header-mac"}).
 * The master key itself never seals a record.
 */
public final class KeyHierarchy implements AutoCloseable {
    static final String WRAP_INFO = "tokenvault/v1/keyring-wrap";
    static final String HEADER_MAC_INFO = "tokenvault/v1/header-mac";

    private final SecretBytes wrapKey;
    private final SecretBytes headerMacKey;

    private KeyHierarchy(SecretBytes wrapKey, SecretBytes headerMacKey) {
        this.wrapKey = wrapKey;
        this.headerMacKey = headerMacKey;
    }

    public static KeyHierarchy derive(SecretBytes masterKey, byte[] storeId) {
        if (masterKey.length() != 32) {
            throw new IllegalArgumentException("master key must be 32 bytes");
        }
        return new KeyHierarchy(Hkdf.deriveKey(masterKey, storeId, WRAP_INFO),
                Hkdf.deriveKey(masterKey, storeId, HEADER_MAC_INFO));
    }

    public SecretBytes wrapKey() {
        return wrapKey;
    }

    public SecretBytes headerMacKey() {
        return headerMacKey;
    }

    @Override
    public void close() {
        wrapKey.destroy();
        headerMacKey.destroy();
    }
}
