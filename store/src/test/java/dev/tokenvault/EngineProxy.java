package dev.tokenvault;

import dev.tokenvault.engine.RecordEngine;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/** Test seam: an engine that passes every call to another through a hook, to count calls or to change them. */
final class EngineProxy {
    /** Handles one call; {@code proceed} makes it on the real engine. */
    @FunctionalInterface
    interface Hook {
        Object call(Method method, Object[] args, Proceed proceed) throws Throwable;
    }

    /** Makes the call on the real engine, with the given arguments. */
    @FunctionalInterface
    interface Proceed {
        Object with(Object[] args) throws Throwable;
    }

    private EngineProxy() {
    }

    static RecordEngine of(RecordEngine inner, Hook hook) {
        return (RecordEngine) Proxy.newProxyInstance(RecordEngine.class.getClassLoader(),
                new Class<?>[] {RecordEngine.class}, (proxy, method, args) -> hook.call(method, args, a -> {
                    try {
                        return method.invoke(inner, a);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                }));
    }
}
