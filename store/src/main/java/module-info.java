/** tokenvault: an embedded, encrypted OAuth token store. Only {@code dev.tokenvault} is API. */
module dev.tokenvault {
    requires com.github.benmanes.caffeine;
    requires org.bouncycastle.provider;
    requires mapdb;

    exports dev.tokenvault;
}
