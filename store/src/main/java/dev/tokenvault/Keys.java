package dev.tokenvault;

import dev.tokenvault.crypto.BlindIndex;
import dev.tokenvault.crypto.Keyring;

/**
 * The keys a vault works with, replaced whole on every change. {@code indexGeneration} is the engine's index
 * generation that {@code blindIndex} computed.
 */
record Keys(StoreHeader header, Keyring keyring, BlindIndex blindIndex, int indexGeneration) {
    Keys withKeyring(Keyring next) {
        return new Keys(header, next, blindIndex, indexGeneration);
    }

    Keys withIndexGeneration(int generation) {
        return new Keys(header, keyring, blindIndex, generation);
    }

    /** The blind-index key of {@code value} in the index of {@code field}. */
    byte[] blindKey(Field field, String value) {
        return blindIndex.compute(field.index, value);
    }

    byte[] storeId() {
        return header.storeId;
    }
}
