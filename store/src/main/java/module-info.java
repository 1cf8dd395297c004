/** tokenvault: an embedded, encrypted OAuth token store. Only {@code dev.tokenvault} is API. */
module dev.tokenvault {
    requires com.github.benmanes.caffeine;
    requires org.bouncycastle.provider;
    requires mapdb;
    requires transitive java.sql; // TokenVault.Builder.dataSource takes a javax.sql.DataSource

    exports dev.tokenvault;
}
