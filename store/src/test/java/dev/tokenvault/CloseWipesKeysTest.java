package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.crypto.SecretBytes;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SECURITY.md, "Key material in memory": {@code TokenVault.close()} destroys every key it holds, and the vault keeps
 * only keys derived at open (never the caller's {@link MasterKey}). Walks the vault's object graph (tokenvault's own
 * classes, arrays, collections, maps and atomic references) for every {@link SecretBytes} it can reach, after keys
 * were rotated and replaced, and checks each one is destroyed after {@code close()}.
 */
class CloseWipesKeysTest {
    @TempDir
    Path dir;

    @Test
    void closeDestroysEveryKeyTheVaultHolds() {
        MasterKey key = MasterKey.generate();
        TokenVault v = TokenVault.builder().path(dir.resolve("keys.db")).masterKey(key).open();
        OAuthToken t = saved(v, full("k"));
        v.findToken(OAuthToken.builder().userName(t.getUserName()).build());
        v.rotateDataKey();
        saved(v, full("l"));
        v.rotateIndexKey();
        v.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build());
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<SecretBytes> before = reachableKeys(v, seen);
        assertFalse(seen.contains(key), "the vault keeps the caller's MasterKey");
        assertTrue(before.size() >= 4, "found too few keys to mean anything: " + before.size());
        v.close();
        List<SecretBytes> live = new ArrayList<>();
        for (SecretBytes s : before) {
            if (!s.isDestroyed()) {
                live.add(s);
            }
        }
        for (SecretBytes s : reachableKeys(v, Collections.newSetFromMap(new IdentityHashMap<>()))) {
            if (!s.isDestroyed() && !live.contains(s)) {
                live.add(s);
            }
        }
        assertTrue(live.isEmpty(), live.size() + " of " + before.size() + " keys the vault held survive close()");
        assertFalse(key.isDestroyed(), "the caller's key is the caller's to destroy");
    }

    private static List<SecretBytes> reachableKeys(Object root, Set<Object> seen) {
        List<SecretBytes> found = new ArrayList<>();
        Deque<Object> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            Object o = todo.pop();
            if (o == null || !seen.add(o)) {
                continue;
            }
            if (o instanceof SecretBytes s) {
                found.add(s);
                continue;
            }
            Class<?> c = o.getClass();
            if (c.isArray()) {
                if (!c.getComponentType().isPrimitive()) {
                    for (int i = 0; i < Array.getLength(o); i++) {
                        todo.push(Array.get(o, i));
                    }
                }
            } else if (o instanceof Map<?, ?> m) {
                try {
                    m.forEach((k, val) -> {
                        todo.push(k);
                        todo.push(val);
                    });
                } catch (RuntimeException ignored) {
                    // a map that cannot be read now (closed): its keys were reached before close
                }
            } else if (o instanceof Collection<?> col) {
                try {
                    todo.addAll(col);
                } catch (RuntimeException ignored) {
                    // as above
                }
            } else if (o instanceof AtomicReference<?> r) {
                todo.push(r.get());
            } else if (c.getName().startsWith("dev.tokenvault.")) {
                for (Class<?> k = c; k != null && k.getName().startsWith("dev.tokenvault."); k = k.getSuperclass()) {
                    for (Field f : k.getDeclaredFields()) {
                        if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                            continue;
                        }
                        try {
                            f.setAccessible(true);
                            todo.push(f.get(o));
                        } catch (ReflectiveOperationException | RuntimeException e) {
                            // a field we may not read: skipped
                        }
                    }
                }
            }
        }
        return found;
    }
}
