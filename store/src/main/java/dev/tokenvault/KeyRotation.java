package dev.tokenvault;

import static dev.tokenvault.KeyMetadata.META_SEALS;

import dev.tokenvault.crypto.KeyHierarchy;
import dev.tokenvault.crypto.Keyring;
import dev.tokenvault.crypto.SealCount;
import dev.tokenvault.crypto.SecretBytes;
import dev.tokenvault.engine.Batch;
import java.util.function.Consumer;

/**
 * The two key rotations of {@link TokenVault}: a new master key (the keyring re-wrapped and the seal counts
 * re-authenticated in one commit) and a new data key version. Each changes the {@link KeyState} only after its commit
 * succeeded, or undoes what it changed. Called by {@link TokenVault#rotateMasterKey} and
 * {@link TokenVault#rotateDataKey}, under the write lock of the {@link WritePipeline} ({@code exclusive}).
 */
final class KeyRotation {
    private KeyRotation() {
    }

    /**
     * Re-wraps the keyring of {@code state} under {@code newKey} and commits it with {@code commit}, in one atomic
     * commit (on a shared store: in a transaction of its own, see {@link SharedKeys#rotateMaster}).
     */
    static void rotateMasterKey(KeyState state, MasterKey newKey, Consumer<Batch> commit) {
        Keys k = state.current();
        StoreHeader header = StoreHeader.create(k.storeId(), newKey, state.random());
        SecretBytes newWrapKey;
        SealCount newSealCount;
        Keyring keyring = k.keyring();
        byte[][] newKeyCheck = new byte[1][];
        try (SecretBytes master = header.masterKeyBytes(newKey);
             KeyHierarchy kh = KeyHierarchy.derive(master, header.storeId)) {
            newWrapKey = kh.wrapKey().duplicate();
            newSealCount = new SealCount(newWrapKey, header.storeId);
            try {
                SharedKeys shared = state.shared();
                if (shared != null) {
                    // the store's keyring and counts, not this node's: other nodes may have changed them
                    keyring = shared.rotateMaster(state.engine(), state.where(), state.own(), newSealCount,
                            (stored, after) -> {
                                Batch meta = new Batch();
                                KeyMetadata.putKeyMeta(meta, header, stored, kh, state.random());
                                newKeyCheck[0] = KeyMetadata.keyCheckIn(meta);
                                meta.ops().forEach(op -> after.put(((Batch.PutMeta) op).key(),
                                        ((Batch.PutMeta) op).value()));
                            });
                } else {
                    Batch batch = new Batch();
                    KeyMetadata.putKeyMeta(batch, header, keyring, kh, state.random());
                    newKeyCheck[0] = KeyMetadata.keyCheckIn(batch);
                    // the counts are authenticated under the wrap key: re-authenticated in the same commit
                    state.mark().seals().forEach((version, count) -> batch.putMeta(META_SEALS + version,
                            newSealCount.encode(version, count)));
                    commit.accept(batch);
                }
            } catch (RuntimeException e) {
                newSealCount.close();
                newWrapKey.destroy();
                throw e;
            }
        }
        state.masterKeyRotated(newKeyCheck[0], newWrapKey, newSealCount,
                new Keys(header, keyring, k.blindIndex(), k.indexGeneration()));
    }

    /**
     * Adds a data key version to the keyring of {@code state} and commits it with {@code commit}; on failure nothing
     * changed. On a shared store the new version is added with a reservation of its own: other nodes seal under it
     * from their next block on.
     */
    static void rotateDataKey(KeyState state, Consumer<Batch> commit) {
        if (state.shared() != null) {
            state.reserveBlock(true);
            return;
        }
        KeyState.Savepoint before = state.mark();
        Batch batch = new Batch();
        state.rollDataKey(batch);
        try {
            commit.accept(batch);
        } catch (RuntimeException e) {
            state.restore(before); // wipes the new data key
            throw e;
        }
    }
}
