package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.StoreFixtures.Variant;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Eight threads mixing refreshes of shared users, lookups on every path, and delete/re-insert, then invariants. Each
 * thread also owns one user on which it checks read-your-writes exactly.
 */
class ConcurrencyTest {
    private static final int THREADS = 8;
    private static final int SHARED = 6;
    private static final int CHURN = 4;
    private static final long RUN_MILLIS = 1_500;
    private static final String CID = "client-id";
    private static final String CS = "client-secret";

    @TempDir Path dir;

    private final Set<String> writtenAccess = ConcurrentHashMap.newKeySet();
    private final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong counter = new AtomicLong();

    private static String shared(int i) {
        return "shared-" + i + "@example.com";
    }

    private static String churn(int i) {
        return "churn-" + i + "@example.com";
    }

    private static String solo(int t) {
        return "solo-" + t + "@example.com";
    }

    private String newAccess(String user) {
        String a = "at-" + user + "-" + counter.incrementAndGet();
        writtenAccess.add(a);
        return a;
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MEMORY_UNCACHED", "FILE_CACHED", "FILE_UNCACHED"})
    void mixedLoadKeepsEveryInvariant(Variant variant) throws Exception {
        try (TokenVault v = variant.open(dir)) {
            for (int i = 0; i < SHARED; i++) {
                v.saveToken(OAuthToken.builder().userName(shared(i)).refreshToken("rt-shared-" + i)
                        .grantToken("gt-shared-" + i).accessToken(newAccess(shared(i))).clientId(CID)
                        .clientSecret(CS).build());
            }
            for (int t = 0; t < THREADS; t++) {
                v.saveToken(OAuthToken.builder().userName(solo(t)).refreshToken("rt-solo-" + t)
                        .accessToken(newAccess(solo(t))).build());
            }
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            Map<Integer, Long> ops = new ConcurrentHashMap<>();
            for (int t = 0; t < THREADS; t++) {
                int me = t;
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                        long n = 0;
                        while (!stop.get()) {
                            step(v, me);
                            n++;
                        }
                        ops.put(me, n);
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }, "worker-" + t);
                threads.add(th);
                th.start();
            }
            start.countDown();
            Thread.sleep(RUN_MILLIS);
            stop.set(true);
            for (Thread th : threads) {
                th.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(th.isAlive(), th.getName() + " did not finish: deadlock?");
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError(failures.size() + " worker failures; first: "
                        + failures.get(0), failures.get(0));
                failures.stream().skip(1).limit(5).forEach(e::addSuppressed);
                throw e;
            }
            assertEquals(THREADS, ops.size());
            ops.values().forEach(n -> assertTrue(n > 0));
            checkInvariants(v);
        }
    }

    private void step(TokenVault v, int me) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int op = r.nextInt(10);
        switch (op) {
            case 0, 1 -> { // refresh a shared user by user name
                String user = shared(r.nextInt(SHARED));
                String at = newAccess(user);
                OAuthToken t = OAuthToken.builder().userName(user).accessToken(at).expiryTime("" + r.nextInt(1000))
                        .build();
                v.saveToken(t);
                assertEquals(at, t.getAccessToken());
                assertEquals(user, t.getUserName());
                assertNotNull(t.getRefreshToken());
                // the new value finds this user's record, or nothing when another thread refreshed since
                OAuthToken found = v.findToken(OAuthToken.builder().accessToken(at).build());
                if (found != null) {
                    assertEquals(user, found.getUserName());
                    assertEquals(t.getId(), found.getId());
                }
            }
            case 2 -> { // refresh a shared user through branch 3 (refresh token and client credentials)
                int i = r.nextInt(SHARED);
                String at = newAccess(shared(i));
                OAuthToken t = OAuthToken.builder().refreshToken("rt-shared-" + i).clientId(CID).clientSecret(CS)
                        .accessToken(at).build();
                v.saveToken(t);
                assertEquals(shared(i), t.getUserName());
            }
            case 3 -> { // read-your-writes on my own user, across the cache
                String user = solo(me);
                OAuthToken before = v.findToken(OAuthToken.builder().userName(user).build());
                String at = newAccess(user);
                v.saveToken(OAuthToken.builder().userName(user).accessToken(at).build());
                OAuthToken byUser = v.findToken(OAuthToken.builder().userName(user).build());
                assertEquals(at, byUser.getAccessToken(), "read-your-writes by user name");
                assertEquals(user, v.findToken(OAuthToken.builder().accessToken(at).build()).getUserName());
                assertNull(v.findToken(OAuthToken.builder().accessToken(before.getAccessToken()).build()),
                        "stale access token still finds the record");
                assertEquals(at, v.findTokenById(byUser.getId()).getAccessToken());
            }
            case 4, 5 -> { // lookups on every path; never another user's record
                int i = r.nextInt(SHARED);
                OAuthToken byUser = v.findToken(OAuthToken.builder().userName(shared(i)).build());
                assertNotNull(byUser);
                assertEquals("rt-shared-" + i, byUser.getRefreshToken());
                OAuthToken byAccess = v.findToken(OAuthToken.builder().accessToken(byUser.getAccessToken()).build());
                if (byAccess != null) {
                    assertEquals(shared(i), byAccess.getUserName());
                }
                OAuthToken byRefresh = v.findToken(OAuthToken.builder().refreshToken("rt-shared-" + i)
                        .clientId(CID).clientSecret(CS).build());
                assertEquals(shared(i), byRefresh.getUserName());
                OAuthToken byGrant = v.findToken(OAuthToken.builder().grantToken("gt-shared-" + i)
                        .clientId(CID).clientSecret(CS).build());
                assertEquals(shared(i), byGrant.getUserName());
                OAuthToken byId = v.findToken(OAuthToken.builder().id(byUser.getId()).build());
                assertEquals(shared(i), byId.getUserName());
                assertEquals(shared(i), v.findTokenById(byUser.getId()).getUserName());
                // another thread's user: these reads fill the cache that its owner's writes must invalidate
                String other = solo(r.nextInt(THREADS));
                OAuthToken soloByUser = v.findToken(OAuthToken.builder().userName(other).build());
                assertEquals(other, soloByUser.getUserName());
                OAuthToken soloByAccess = v.findToken(OAuthToken.builder().accessToken(soloByUser.getAccessToken())
                        .build());
                if (soloByAccess != null) {
                    assertEquals(other, soloByAccess.getUserName());
                }
            }
            case 6, 7 -> { // delete and re-insert a churn user
                String user = churn(r.nextInt(CHURN));
                OAuthToken cur = v.findToken(OAuthToken.builder().userName(user).build());
                if (cur != null) {
                    assertEquals(user, cur.getUserName());
                    try {
                        v.deleteToken(cur.getId());
                    } catch (TokenStoreException e) {
                        assertEquals(ErrorCode.NOT_FOUND, e.code(), e.getMessage()); // another thread was first
                    }
                }
                OAuthToken back = OAuthToken.builder().userName(user).refreshToken("rt-" + user)
                        .accessToken(newAccess(user)).build();
                v.saveToken(back);
                assertEquals(user, back.getUserName());
                OAuthToken byId;
                try {
                    byId = v.findTokenById(back.getId());
                } catch (TokenStoreException e) {
                    assertEquals(ErrorCode.NOT_FOUND, e.code(), e.getMessage()); // deleted again meanwhile
                    byId = null;
                }
                if (byId != null) {
                    assertEquals(user, byId.getUserName());
                }
            }
            case 8 -> { // a churn user by refresh token, and by id
                String user = churn(r.nextInt(CHURN));
                OAuthToken byRefresh = v.findToken(OAuthToken.builder().refreshToken("rt-" + user)
                        .clientId(CID).clientSecret(CS).build());
                if (byRefresh != null) {
                    assertEquals(user, byRefresh.getUserName());
                    try {
                        assertEquals(user, v.findTokenById(byRefresh.getId()).getUserName());
                    } catch (TokenStoreException e) {
                        assertEquals(ErrorCode.NOT_FOUND, e.code());
                    }
                }
            }
            default -> { // a snapshot never shows two records sharing a unique value
                List<OAuthToken> all = v.getTokens();
                assertNoSharedValues(all);
            }
        }
    }

    private void checkInvariants(TokenVault v) {
        List<OAuthToken> all = v.getTokens();
        assertNoSharedValues(all);
        Set<String> currentAccess = new HashSet<>();
        Set<String> users = new HashSet<>();
        for (OAuthToken t : all) {
            currentAccess.add(t.getAccessToken());
            users.add(t.getUserName());
            assertEquals(t, v.findTokenById(t.getId()));
            assertEquals(t, v.findToken(OAuthToken.builder().userName(t.getUserName()).build()));
            assertEquals(t, v.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()));
            assertEquals(t.getId(), v.findToken(OAuthToken.builder().refreshToken(t.getRefreshToken())
                    .clientId("x").clientSecret("y").build()).getId());
            if (t.getGrantToken() != null) {
                assertEquals(t.getId(), v.findToken(OAuthToken.builder().grantToken(t.getGrantToken())
                        .clientId("x").clientSecret("y").build()).getId());
            }
            assertEquals(t, v.findToken(OAuthToken.builder().id(t.getId()).build()));
        }
        for (int i = 0; i < SHARED; i++) {
            assertTrue(users.contains(shared(i)), shared(i));
        }
        for (int t = 0; t < THREADS; t++) {
            assertTrue(users.contains(solo(t)), solo(t));
        }
        for (int i = 0; i < CHURN; i++) {
            if (!users.contains(churn(i))) {
                assertNull(v.findToken(OAuthToken.builder().userName(churn(i)).build()), churn(i));
                assertNull(v.findToken(OAuthToken.builder().refreshToken("rt-" + churn(i)).clientId("x")
                        .clientSecret("y").build()));
            }
        }
        long churnPresent = users.stream().filter(u -> u.startsWith("churn-")).count();
        assertEquals(SHARED + THREADS + churnPresent, all.size());
        // no stale value finds anything
        int stale = 0;
        for (String at : writtenAccess) {
            if (!currentAccess.contains(at)) {
                stale++;
                assertNull(v.findToken(OAuthToken.builder().accessToken(at).build()), "stale access token " + at);
            }
        }
        assertTrue(stale > 0);
        assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
        assertEquals(all.size(), v.stats().records());
    }

    private static void assertNoSharedValues(List<OAuthToken> all) {
        List<Function<OAuthToken, String>> unique = List.of(OAuthToken::getUserName, OAuthToken::getAccessToken,
                OAuthToken::getRefreshToken, OAuthToken::getGrantToken, OAuthToken::getId);
        for (Function<OAuthToken, String> f : unique) {
            Map<String, String> seen = new HashMap<>();
            for (OAuthToken t : all) {
                String value = f.apply(t);
                if (value != null) {
                    String prev = seen.put(value, t.getId());
                    if (prev != null) {
                        fail("records " + prev + " and " + t.getId() + " share a unique value");
                    }
                }
            }
        }
    }

    /**
     * deleteTokens while readers keep loading the same keys: once it returns, nothing it removed may be found, in
     * particular through a cache entry that a concurrent load put back.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MEMORY_UNCACHED"})
    void deleteTokensLeavesNothingFindableUnderConcurrentReads(Variant variant) throws Exception {
        try (TokenVault v = variant.open(dir)) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
            int rounds = 0;
            while (System.nanoTime() < deadline) {
                rounds++;
                List<OAuthToken> batch = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    OAuthToken t = OAuthToken.builder().userName("u" + i).accessToken("a" + rounds + "-" + i)
                            .build();
                    v.saveToken(t);
                    batch.add(t);
                }
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> readers = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    Thread th = new Thread(() -> {
                        ThreadLocalRandom r = ThreadLocalRandom.current();
                        while (!stop.get()) {
                            OAuthToken b = batch.get(r.nextInt(batch.size()));
                            v.findToken(OAuthToken.builder().userName(b.getUserName()).build());
                            v.findToken(OAuthToken.builder().id(b.getId()).build());
                        }
                    });
                    readers.add(th);
                    th.start();
                }
                Thread.sleep(1);
                v.deleteTokens();
                stop.set(true);
                for (Thread th : readers) {
                    th.join(10_000);
                    assertFalse(th.isAlive());
                }
                for (OAuthToken b : batch) {
                    assertNull(v.findToken(OAuthToken.builder().userName(b.getUserName()).build()),
                            "round " + rounds + ": a deleted record is still found by user name");
                    assertNull(v.findToken(OAuthToken.builder().id(b.getId()).build()),
                            "round " + rounds + ": a deleted record is still found by id");
                }
            }
        }
    }
}
