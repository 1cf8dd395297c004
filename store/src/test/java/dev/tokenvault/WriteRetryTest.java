package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The write path's answer to another node's collision ({@code RETRY}, which only shared engines raise): the whole
 * group runs again on fresh state, and after {@link WritePipeline#ATTEMPTS} collisions its writers get
 * {@code CONFLICT} with nothing saved. Shown on an in-memory store whose engine collides on demand.
 */
class WriteRetryTest {
    /** Collides {@code times} times at {@code method}, going back to the durable state as a shared engine does. */
    private static TokenVault collidingAt(String method, AtomicInteger times) {
        RecordEngine[] inner = new RecordEngine[1];
        return TokenVault.builder().inMemory().masterKey(MasterKey.generate())
                .engineWrapper(engine -> {
                    inner[0] = engine;
                    return EngineProxy.of(engine, (m, args, proceed) -> {
                        if (m.getName().equals(method) && times.getAndDecrement() > 0) {
                            inner[0].discardStaged("test: a collision");
                            throw new EngineException(EngineException.Kind.RETRY, "test: another node collided");
                        }
                        return proceed.with(args);
                    });
                }).open();
    }

    @Test
    void aCollisionAtTheCommitRunsTheGroupAgainAndTheSaveSucceeds() {
        AtomicInteger collisions = new AtomicInteger(0);
        try (TokenVault v = collidingAt("commitStaged", collisions)) {
            OAuthToken a = saved(v, full("a"));
            collisions.set(WritePipeline.ATTEMPTS - 1);
            OAuthToken update = OAuthToken.builder().id(a.getId()).accessToken("access-2").build();
            v.saveToken(update);
            assertEquals(-1, collisions.get(), "every collision was run again");
            assertEquals("access-2", v.findTokenById(a.getId()).getAccessToken());
            assertEquals("client-a", update.getClientId(), "the caller gets the merged record of the run that saved");
            assertTrue(v.verify().isClean());
        }
    }

    @Test
    void aCollisionWhileAWriteReadsRunsItAgain() {
        AtomicInteger collisions = new AtomicInteger(0);
        try (TokenVault v = collidingAt("getByIndex", collisions)) {
            OAuthToken a = saved(v, full("a"));
            collisions.set(2);
            v.saveToken(OAuthToken.builder().userName(a.getUserName()).accessToken("access-2").build());
            assertEquals(1, v.getTokens().size(), "the save found the user's record when it ran again");
            assertEquals("access-2", v.findTokenById(a.getId()).getAccessToken());
        }
    }

    @Test
    void collisionsEveryTimeEndInConflictWithNothingSavedAndTheKeysAsBefore() {
        AtomicInteger collisions = new AtomicInteger(0);
        try (TokenVault v = collidingAt("commitStaged", collisions)) {
            saved(v, full("a"));
            List<OAuthToken> before = snapshot(v);
            VaultStats stats = v.stats();
            collisions.set(Integer.MAX_VALUE);
            TokenStoreException e = expect(ErrorCode.CONFLICT, () -> v.saveTokens(List.of(full("b"), full("c"))));
            assertTrue(e.getMessage().contains(WritePipeline.ATTEMPTS + " times in a row"), e.getMessage());
            collisions.set(0);
            assertEquals(before, snapshot(v));
            assertEquals(stats.sealsPerKeyVersion(), v.stats().sealsPerKeyVersion(), "no seal was counted");
            saved(v, full("d"));
            assertEquals(2, v.getTokens().size());
        }
    }
}
