package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SECURITY.md: an older keyring put back alone is {@code CORRUPT}, found by the seal count of the version after its
 * newest; and a store without its header is initialised only when it holds no seal count. {@code resealAll()} removes
 * data key versions no record uses: it must leave their seal counts, or both checks lose what they look for.
 */
class KeyringRollbackAfterResealTest {
    @TempDir
    Path dir;

    private static void edit(Path file, Consumer<MapDbEngine> change) {
        try (MapDbEngine engine = MapDbEngine.open(file, Field.INDEXED.length)) {
            change.accept(engine);
        }
    }

    @Test
    void anOlderKeyringPutBackAfterResealAllIsCorrupt() {
        Path file = dir.resolve("k.db");
        MasterKey key = MasterKey.generate();
        byte[][] old = new byte[1][];
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            saved(v, full("a"));
        }
        edit(file, e -> old[0] = e.getMeta("keyring")); // versions {1}
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            v.rotateDataKey();
            v.rotateDataKey();
            v.resealAll(); // the keyring keeps version 3 only
            assertEquals(3, v.stats().currentKeyVersion());
        }
        edit(file, e -> e.commit(new Batch().putMeta("keyring", old[0])));
        expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(key).open().close());
    }

    @Test
    void aStoreWhoseOnlyVersionWasResealedAwayIsNotInitialisedAgainWithoutItsHeader() {
        Path file = dir.resolve("h.db");
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.generate()).open()) {
            v.rotateDataKey();
            assertNotNull(v.resealAll()); // the keyring keeps version 2 only
        }
        edit(file, e -> e.commit(new Batch().removeMeta("header").removeMeta("keycheck").removeMeta("keyring")));
        expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(MasterKey.generate()).open()
                .close());
    }
}
