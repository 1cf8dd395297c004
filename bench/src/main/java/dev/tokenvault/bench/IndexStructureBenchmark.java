package dev.tokenvault.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.mapdb.DB;
import org.mapdb.DBMaker;
import org.mapdb.HTreeMap;
import org.mapdb.IndexTreeLongLongMap;
import org.mapdb.Serializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * MapDB's structures for "blind index value → sealed record", on a memory-mapped file with MapDB's write-ahead log
 * ({@code StoreWAL}, as the engine opens it), without tokenvault's crypto, so that only the structure is measured
 * (issue 12): how the engine's lookup could get from an index entry to its record.
 * <ul>
 *   <li>{@code htree-two-walks}: the engine of layout 1: {@code HTreeMap<byte[16], id>} then
 *       {@code HTreeMap<id, sealed>};</li>
 *   <li>{@code htree-id-only}: the first of those walks alone ({@code findTokenById} pays the second alone);</li>
 *   <li>{@code htree-recid}: {@code HTreeMap<byte[16], recid>} then one direct {@code store.get(recid)};</li>
 *   <li>{@code longlong-recid}: {@code IndexTreeLongLongMap} keyed by 63 bits of the blind value, then one
 *       direct read of the record (a real engine would compare the record's own blind value: collisions);</li>
 *   <li>{@code slots-by-index}: the engine's slot layout (layout 2): {@code HTreeMap<byte[16], recid and id>} with
 *       its values inline in the leaves, then one direct read of the slot (id and sealed bytes);</li>
 *   <li>{@code slots-by-id}: its lookup by id: {@code HTreeMap<id, recid>} inline, then the slot;</li>
 *   <li>{@code slots-by-index-32x5}, {@code slots-by-index-16x7}: {@code slots-by-index} with smaller hash-tree nodes
 *       (32 slots over 5 levels, 16 over 7; MapDB's default is 128 over 4). {@code StoreWAL} deserialises a whole
 *       node at every level of a walk, so a node's size is paid at each level.</li>
 * </ul>
 * Records are 434 random bytes (a sealed Zoho-shaped token), keys 16 random bytes. The file per size is built once
 * into {@code <data>/mapdb-structures-<n>/} and reused.
 *
 * <p>These are MapDB's own structures, which the engine used up to map layout 2. Since layout 3 the engine keeps its
 * index and slot entries in hash tables of its own ({@code IndexTable}, package-private in the store module), whose
 * lookup {@link FindTokenBenchmark} measures with the crypto around it (bench/README.md).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
@State(Scope.Benchmark)
public class IndexStructureBenchmark {
    private static final int RECORD_BYTES = 434;
    private static final int SAMPLE = 65536;

    @Param({"htree-two-walks", "htree-id-only", "htree-recid", "longlong-recid", "slots-by-index", "slots-by-id",
        "slots-by-index-32x5", "slots-by-index-16x7", "slots-by-index-128x3"})
    public String structure;

    @Param({"1000", "100000", "1000000"})
    public int entries;

    private DB db;
    private HTreeMap<byte[], String> indexToId;
    private HTreeMap<String, byte[]> records;
    private HTreeMap<byte[], Long> indexToRecid;
    private IndexTreeLongLongMap longToRecid;
    private HTreeMap<byte[], byte[]> indexToSlot;
    private HTreeMap<String, Long> idToSlot;
    private HTreeMap<byte[], byte[]> indexToSlot32;
    private HTreeMap<byte[], byte[]> indexToSlot16;
    private HTreeMap<byte[], byte[]> indexToSlot3;
    private byte[][] keys;
    private String[] ids;

    @Setup(Level.Trial)
    public void setUp() {
        Path file = built(entries).resolve("structures.db");
        db = open(file);
        indexToId = db.hashMap("indexToId", Serializer.BYTE_ARRAY, Serializer.STRING).open();
        records = db.hashMap("records", Serializer.STRING, Serializer.BYTE_ARRAY).open();
        indexToRecid = db.hashMap("indexToRecid", Serializer.BYTE_ARRAY, Serializer.LONG).open();
        longToRecid = new DB.IndexTreeLongLongMapMaker(db, "longToRecid").open();
        indexToSlot = db.hashMap("indexToSlot", Serializer.BYTE_ARRAY, Serializer.BYTE_ARRAY).open();
        idToSlot = db.hashMap("idToSlot", Serializer.STRING, Serializer.LONG).open();
        indexToSlot32 = db.hashMap("indexToSlot32", Serializer.BYTE_ARRAY, Serializer.BYTE_ARRAY).open();
        indexToSlot16 = db.hashMap("indexToSlot16", Serializer.BYTE_ARRAY, Serializer.BYTE_ARRAY).open();
        indexToSlot3 = db.hashMap("indexToSlot3", Serializer.BYTE_ARRAY, Serializer.BYTE_ARRAY).open();
        keys = new byte[SAMPLE][];
        ids = new String[SAMPLE];
        SplittableRandom pick = new SplittableRandom(42);
        for (int k = 0; k < SAMPLE; k++) {
            int i = pick.nextInt(entries);
            keys[k] = key(i);
            ids[k] = TokenData.id(i);
            if (lookup(k) == null) {
                throw new IllegalStateException(structure + " finds no record for entry " + i);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        db.close();
    }

    @State(Scope.Thread)
    public static class Cursor {
        int next = new SplittableRandom().nextInt(SAMPLE);
    }

    @Benchmark
    @Threads(1)
    public Object get(Cursor c) {
        return lookup(c.next++ & (SAMPLE - 1));
    }

    private Object lookup(int k) {
        switch (structure) {
            case "htree-two-walks": {
                String id = indexToId.get(keys[k]);
                return id == null ? null : records.get(id);
            }
            case "htree-id-only":
                return records.get(ids[k]);
            case "htree-recid": {
                Long recid = indexToRecid.get(keys[k]);
                return recid == null ? null : db.getStore().get(recid, Serializer.BYTE_ARRAY_NOSIZE);
            }
            case "longlong-recid": {
                long recid = longToRecid.get(longKey(keys[k]));
                return recid == 0 ? null : db.getStore().get(recid, Serializer.BYTE_ARRAY_NOSIZE);
            }
            case "slots-by-index":
                return slotOf(indexToSlot.get(keys[k]));
            case "slots-by-index-32x5":
                return slotOf(indexToSlot32.get(keys[k]));
            case "slots-by-index-16x7":
                return slotOf(indexToSlot16.get(keys[k]));
            case "slots-by-index-128x3":
                return slotOf(indexToSlot3.get(keys[k]));
            case "slots-by-id": {
                Long recid = idToSlot.get(ids[k]);
                return recid == null ? null : db.getStore().get(recid, Serializer.BYTE_ARRAY);
            }
            default:
                throw new IllegalArgumentException("unknown structure " + structure);
        }
    }

    private Object slotOf(byte[] entry) {
        return entry == null ? null : db.getStore().get(ByteBuffer.wrap(entry).getLong(), Serializer.BYTE_ARRAY);
    }

    /** A slot of the size the engine writes (both lengths packed): id length, id, sealed length, sealed. */
    private static byte[] slot(String id, byte[] sealed) {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + idBytes.length + 2 + sealed.length).put((byte) idBytes.length)
                .put(idBytes).putShort((short) sealed.length).put(sealed).array();
    }

    private static DB open(Path file) {
        return DBMaker.fileDB(file.toFile()).fileMmapEnable().transactionEnable().make();
    }

    /** 63 bits of the blind value: the tree takes non-negative keys. */
    private static long longKey(byte[] key) {
        return ByteBuffer.wrap(key).getLong() >>> 1;
    }

    static byte[] key(int i) {
        byte[] k = new byte[16];
        ByteBuffer b = ByteBuffer.wrap(k);
        b.putLong(TokenData.mix(i * 2L + 1));
        b.putLong(TokenData.mix(i * 2L + 2));
        return k;
    }

    private static Path built(int n) {
        Path dir = Stores.dataRoot().resolve("mapdb-structures-v3-" + n);
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Path building = Stores.dataRoot().resolve("mapdb-structures-v3-" + n + ".building");
        try {
            Stores.deleteTree(building);
            Files.createDirectories(building);
            DB db = open(building.resolve("structures.db"));
            HTreeMap<byte[], String> indexToId = db.hashMap("indexToId", Serializer.BYTE_ARRAY, Serializer.STRING)
                    .create();
            HTreeMap<String, byte[]> records = db.hashMap("records", Serializer.STRING, Serializer.BYTE_ARRAY).create();
            HTreeMap<byte[], Long> indexToRecid = db.hashMap("indexToRecid", Serializer.BYTE_ARRAY, Serializer.LONG)
                    .create();
            // MapDB's default layout holds keys below 2^28 only: 128-slot nodes over 9 levels take 63 bits
            IndexTreeLongLongMap longToRecid = new DB.IndexTreeLongLongMapMaker(db, "longToRecid").layout(128, 9)
                    .create();
            HTreeMap<byte[], byte[]> indexToSlot = db.hashMap("indexToSlot", Serializer.BYTE_ARRAY,
                    Serializer.BYTE_ARRAY).valueInline().create();
            HTreeMap<String, Long> idToSlot = db.hashMap("idToSlot", Serializer.STRING, Serializer.LONG).valueInline()
                    .create();
            HTreeMap<byte[], byte[]> indexToSlot32 = db.hashMap("indexToSlot32", Serializer.BYTE_ARRAY,
                    Serializer.BYTE_ARRAY).valueInline().layout(8, 32, 5).create();
            HTreeMap<byte[], byte[]> indexToSlot16 = db.hashMap("indexToSlot16", Serializer.BYTE_ARRAY,
                    Serializer.BYTE_ARRAY).valueInline().layout(8, 16, 7).create();
            // one level fewer than the default: 2^24 buckets, still 16 per entry at 1,000,000 entries
            HTreeMap<byte[], byte[]> indexToSlot3 = db.hashMap("indexToSlot3", Serializer.BYTE_ARRAY,
                    Serializer.BYTE_ARRAY).valueInline().layout(8, 128, 3).create();
            SplittableRandom random = new SplittableRandom(7);
            for (int i = 0; i < n; i++) {
                byte[] sealed = new byte[RECORD_BYTES];
                random.nextBytes(sealed);
                String id = TokenData.id(i);
                byte[] key = key(i);
                records.put(id, sealed);
                indexToId.put(key, id);
                long recid = db.getStore().put(sealed, Serializer.BYTE_ARRAY_NOSIZE);
                indexToRecid.put(key, recid);
                longToRecid.put(longKey(key), recid);
                long slot = db.getStore().put(slot(id, sealed), Serializer.BYTE_ARRAY);
                byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
                byte[] entry = ByteBuffer.allocate(8 + idBytes.length).putLong(slot).put(idBytes).array();
                indexToSlot.put(key, entry);
                indexToSlot32.put(key, entry);
                indexToSlot16.put(key, entry);
                indexToSlot3.put(key, entry);
                idToSlot.put(id, slot);
                if (i % 10_000 == 9_999) {
                    db.commit();
                }
            }
            db.commit();
            db.close();
            Files.move(building, dir, StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
