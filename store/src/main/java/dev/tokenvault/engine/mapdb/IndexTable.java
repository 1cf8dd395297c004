package dev.tokenvault.engine.mapdb;

import static dev.tokenvault.engine.mapdb.IndexPages.CHUNK;
import static dev.tokenvault.engine.mapdb.IndexPages.CHUNK_RECORD;
import static dev.tokenvault.engine.mapdb.IndexPages.HEADER;
import static dev.tokenvault.engine.mapdb.IndexPages.LIST;
import static dev.tokenvault.engine.mapdb.IndexPages.MAX_KEY_BYTES;
import static dev.tokenvault.engine.mapdb.IndexPages.MAX_VALUE_BYTES;
import static dev.tokenvault.engine.mapdb.IndexPages.PAGE;
import static dev.tokenvault.engine.mapdb.IndexPages.PAYLOAD;

import dev.tokenvault.engine.mapdb.IndexPages.Header;
import dev.tokenvault.engine.mapdb.IndexPages.Item;
import dev.tokenvault.engine.mapdb.IndexPages.Page;
import dev.tokenvault.engine.mapdb.IndexPages.Probe;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import org.mapdb.DBException;
import org.mapdb.Store;

/**
 * One index map of one generation: a linear hash table of tokenvault's own, from a key (a blind index value) to a
 * short value (an {@link IndexEntry}), kept in records of the store's MapDB file, so that every change goes through
 * the same commit and redo log as the records it indexes.
 *
 * <p>Why not MapDB's {@code HTreeMap}: a lookup in one walks a directory node at each of its levels and then a leaf,
 * a MapDB read each, and the larger the store the more of those reads miss the CPU caches (five to seven reads per
 * lookup at 1,000,000 entries). Here the bucket directory is held in memory, so a lookup is one MapDB read of one
 * page, and a second only when that bucket overflowed. And a refresh, which removes one entry and adds another,
 * rewrites pages in place: pages have one fixed size, so MapDB never frees and reallocates space for them (an
 * {@code HTreeMap} leaf changes size at every such change, and MapDB's free lists grew the file by about 180 bytes
 * per refresh; bench/README.md).
 *
 * <p>Records, each a MapDB record ({@link IndexPages} reads and writes them):
 * <ul>
 *   <li>the <i>header</i> (its recid is the table's identity, kept by the caller): {@code magic, level, split, count,
 *       bytes, directory list recid};</li>
 *   <li>the <i>directory list</i>: the recids of the directory chunks, in order;</li>
 *   <li><i>directory chunks</i>, {@value IndexPages#CHUNK} bucket page recids each (the last one partly used);</li>
 *   <li><i>pages</i>, {@value IndexPages#PAGE_BYTES} bytes each: {@code used, count, next} (the recid of the
 *       bucket's next overflow page, 0 for none), then {@code count} entries {@code fingerprint(8) | key length(1) |
 *       key | value length(2) | value}, packed, and zeros.</li>
 * </ul>
 *
 * <p>Linear hashing: the table starts with {@value #FIRST_BUCKETS} buckets; a round of level {@code L} has
 * {@code FIRST_BUCKETS << L} buckets at its start and splits them in order, bucket {@code split} into itself and
 * bucket {@code split + (FIRST_BUCKETS << L)}, one split whenever the entries' bytes pass {@value #LOAD} of the pages'
 * capacity. A key's bucket is its fingerprint's low bits, one bit more for a bucket already split this round. So the
 * table grows one bucket at a time, and no change ever rewrites more than two buckets' pages.
 *
 * <p>Not thread-safe by itself: the engine reads it under its read lock and changes it under its write lock. What it
 * holds in memory (the directory and the counters) is read from the file at open and follows every change it makes;
 * after MapDB rolled changes back, the table must be opened again. Every structure it reads is checked (lengths,
 * counts, chains that loop), so a damaged file gives {@link DBException.DataCorruption}, never a wrong entry, a hang or
 * an allocation the size of the damage.
 */
final class IndexTable {
    private static final int FIRST_BUCKETS = 4;
    private static final int MAX_LEVEL = 26;
    private static final double LOAD = 0.6;

    private final Store store;
    private final long headerRecid;
    private int level;
    private int split;
    private long count;
    private long bytes;
    private long listRecid;
    /** Page recid of each bucket; {@link #buckets} of them in use. */
    private long[] pages;
    private int buckets;
    /** Recids of the directory chunks; {@link #chunkCount()} of them in use. */
    private long[] chunks;

    private IndexTable(Store store, long headerRecid) {
        this.store = store;
        this.headerRecid = headerRecid;
    }

    /** Creates an empty table in {@code store} (uncommitted); its header recid is {@link #id()}. */
    static IndexTable create(Store store) {
        IndexTable t = new IndexTable(store, store.preallocate()); // initEmpty writes the header
        t.initEmpty();
        return t;
    }

    /** Opens the table whose header is at {@code headerRecid}. */
    static IndexTable open(Store store, long headerRecid) {
        IndexTable t = new IndexTable(store, headerRecid);
        t.load();
        return t;
    }

    /** The recid of the table's header, which names it. */
    long id() {
        return headerRecid;
    }

    long size() {
        return count;
    }

    boolean isEmpty() {
        return count == 0;
    }

    // ---------------------------------------------------------------- reads

    /** The value of {@code key}, or {@code null}. One page read, more only for a bucket that overflowed. */
    byte[] get(byte[] key) {
        long fingerprint = fingerprint(key);
        Probe probe = new Probe(fingerprint, key);
        long recid = pages[bucket(fingerprint)];
        for (long hops = 0; recid != 0; hops++) {
            if (hops > count + 1) { // every overflow page holds an entry: a longer chain is a loop in a damaged file
                throw loop();
            }
            store.get(recid, probe);
            if (probe.value != null) {
                return probe.value;
            }
            recid = probe.next;
        }
        return null;
    }

    /** Calls {@code action} with every key and value, bucket by bucket. */
    void forEach(BiConsumer<byte[], byte[]> action) {
        for (int b = 0; b < buckets; b++) {
            for (Page page : chain(b)) {
                for (Item item : page.items) {
                    action.accept(item.key(), item.value());
                }
            }
        }
    }

    /** Up to {@code max} keys, in bucket order. */
    List<byte[]> keys(int max) {
        List<byte[]> out = new ArrayList<>();
        for (int b = 0; b < buckets && out.size() < max; b++) {
            for (Page page : chain(b)) {
                for (Item item : page.items) {
                    if (out.size() == max) {
                        return out;
                    }
                    out.add(item.key());
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- changes (under the engine's write lock)

    /** Sets the value of {@code key}. */
    void put(byte[] key, byte[] value) {
        if (key.length > MAX_KEY_BYTES || value.length > MAX_VALUE_BYTES) {
            throw new IllegalArgumentException("an index key holds at most " + MAX_KEY_BYTES + " bytes and a value "
                    + MAX_VALUE_BYTES + " (got " + key.length + " and " + value.length + ")");
        }
        Item item = new Item(fingerprint(key), key, value);
        List<Page> chain = chain(bucket(item.fingerprint()));
        Removal replaced = removeFrom(chain, item.fingerprint(), key);
        Page dirtyOnRemoval = replaced == null ? null : replaced.page();
        Page target = null;
        for (Page page : chain) {
            if (page.used + item.size() <= PAYLOAD) {
                target = page;
                break;
            }
        }
        if (target == null) { // every page of the bucket is full: a new overflow page after its last
            target = new Page(store.preallocate()); // written below, with its entry
            chain.get(chain.size() - 1).next = target.recid;
            chain.get(chain.size() - 1).write(store);
        }
        target.add(item);
        if (dirtyOnRemoval != null && dirtyOnRemoval != target) {
            writeOrUnlink(chain, dirtyOnRemoval);
        }
        target.write(store);
        count++;
        bytes += item.size();
        while (bytes > LOAD * PAYLOAD * buckets && level < MAX_LEVEL) {
            split();
        }
        writeHeader();
    }

    /** Removes the entry of {@code key}; its value, or {@code null} when there was none. */
    byte[] remove(byte[] key) {
        long fingerprint = fingerprint(key);
        List<Page> chain = chain(bucket(fingerprint));
        Removal removal = removeFrom(chain, fingerprint, key);
        if (removal == null) {
            return null;
        }
        writeOrUnlink(chain, removal.page());
        writeHeader();
        return removal.item().value();
    }

    /**
     * Writes {@code page} of {@code chain}, or when it is an overflow page left empty, takes it out of the chain
     * instead: so every overflow page holds an entry, and a chain has at most one page more than the table has
     * entries (which is how a read tells a loop in a damaged file from a long chain).
     */
    private void writeOrUnlink(List<Page> chain, Page page) {
        int at = chain.indexOf(page);
        if (page.items.isEmpty() && at > 0) {
            Page before = chain.get(at - 1);
            before.next = page.next;
            before.write(store);
            store.delete(page.recid, PAGE);
            chain.remove(at);
        } else {
            page.write(store);
        }
    }

    /** Removes every entry; the table keeps its identity ({@link #id()}) and starts again from its first buckets. */
    void clear() {
        for (int b = 0; b < buckets; b++) {
            for (Page page : chain(b)) {
                store.delete(page.recid, PAGE);
            }
        }
        for (int c = 0; c < chunkCount(); c++) {
            store.delete(chunks[c], CHUNK_RECORD);
        }
        store.delete(listRecid, LIST);
        initEmpty();
    }

    /** An entry taken out of a page that is not written yet. */
    private record Removal(Page page, Item item) { }

    /**
     * Removes the entry of {@code key} from the page of {@code chain} that holds it; that page (not yet written) and
     * the entry, or {@code null} when no page holds it. Keeps {@link #count} and {@link #bytes}.
     */
    private Removal removeFrom(List<Page> chain, long fingerprint, byte[] key) {
        for (Page page : chain) {
            for (int i = 0; i < page.items.size(); i++) {
                Item item = page.items.get(i);
                if (item.fingerprint() == fingerprint && Arrays.equals(item.key(), key)) {
                    page.items.remove(i);
                    page.used -= item.size();
                    count--;
                    bytes -= item.size();
                    return new Removal(page, item);
                }
            }
        }
        return null;
    }

    /** Splits bucket {@link #split} into itself and a new bucket at the end, then advances the split pointer. */
    private void split() {
        int round = FIRST_BUCKETS << level;
        List<Page> old = chain(split);
        List<Item> stay = new ArrayList<>();
        List<Item> move = new ArrayList<>();
        for (Page page : old) {
            for (Item item : page.items) {
                ((item.fingerprint() & round) == 0 ? stay : move).add(item);
            }
        }
        List<Long> recids = new ArrayList<>();
        for (Page page : old) {
            recids.add(page.recid);
        }
        writeChain(recids, stay);
        long moved = writeChain(new ArrayList<>(), move);
        addBucket(moved);
        if (++split == round) {
            level++;
            split = 0;
        }
    }

    /**
     * Writes {@code items} into a chain of pages, reusing the pages {@code recids} names (in order) and deleting those
     * not needed; returns the chain's first page.
     */
    private long writeChain(List<Long> recids, List<Item> items) {
        List<Page> out = new ArrayList<>();
        Page page = null;
        for (Item item : items) {
            if (page == null || page.used + item.size() > PAYLOAD) {
                page = new Page(out.size() < recids.size() ? recids.get(out.size()) : store.preallocate());
                out.add(page);
            }
            page.add(item);
        }
        if (out.isEmpty()) {
            out.add(new Page(recids.isEmpty() ? store.preallocate() : recids.get(0)));
        }
        for (int i = out.size(); i < recids.size(); i++) {
            store.delete(recids.get(i), PAGE);
        }
        for (int i = 0; i < out.size(); i++) {
            out.get(i).next = i + 1 < out.size() ? out.get(i + 1).recid : 0;
            out.get(i).write(store);
        }
        return out.get(0).recid;
    }

    // ---------------------------------------------------------------- directory and header

    private int bucket(long fingerprint) {
        int round = FIRST_BUCKETS << level;
        int b = (int) (fingerprint & (round - 1));
        return b < split ? (int) (fingerprint & ((round << 1) - 1)) : b;
    }

    /** The pages of bucket {@code b}, read whole, in chain order. */
    private List<Page> chain(int b) {
        List<Page> out = new ArrayList<>(2);
        Set<Long> seen = new HashSet<>();
        for (long recid = pages[b]; recid != 0; recid = out.get(out.size() - 1).next) {
            if (!seen.add(recid)) {
                throw loop();
            }
            Page page = store.get(recid, PAGE);
            if (page == null) {
                throw new DBException.DataCorruption("an index table page is missing");
            }
            page.recid = recid;
            out.add(page);
        }
        return out;
    }

    private void initEmpty() {
        level = 0;
        split = 0;
        count = 0;
        bytes = 0;
        pages = new long[FIRST_BUCKETS];
        buckets = 0;
        chunks = new long[4];
        listRecid = store.put(new long[0], LIST);
        for (int b = 0; b < FIRST_BUCKETS; b++) {
            addBucket(store.put(new Page(0), PAGE));
        }
        writeHeader();
    }

    /** Appends a bucket whose first page is {@code pageRecid}, to the directory in memory and on file. */
    private void addBucket(long pageRecid) {
        if (buckets == pages.length) {
            pages = Arrays.copyOf(pages, pages.length * 2);
        }
        pages[buckets++] = pageRecid;
        int c = (buckets - 1) / CHUNK;
        long[] chunk = Arrays.copyOfRange(pages, c * CHUNK, buckets);
        if (chunk.length == 1) { // the first bucket of a new chunk
            if (c == chunks.length) {
                chunks = Arrays.copyOf(chunks, chunks.length * 2);
            }
            chunks[c] = store.put(chunk, CHUNK_RECORD);
            store.update(listRecid, Arrays.copyOf(chunks, c + 1), LIST);
        } else {
            store.update(chunks[c], chunk, CHUNK_RECORD);
        }
    }

    private int chunkCount() {
        return (buckets + CHUNK - 1) / CHUNK;
    }

    private void writeHeader() {
        store.update(headerRecid, new Header(level, split, count, bytes, listRecid), HEADER);
    }

    private void load() {
        Header h = store.get(headerRecid, HEADER);
        if (h == null || h.level() < 0 || h.level() > MAX_LEVEL || h.split() < 0
                || h.split() >= FIRST_BUCKETS << h.level() || h.count() < 0 || h.bytes() < 0) {
            throw new DBException.DataCorruption("an index table's header is damaged");
        }
        level = h.level();
        split = h.split();
        count = h.count();
        bytes = h.bytes();
        listRecid = h.list();
        int expected = (FIRST_BUCKETS << level) + split;
        long[] list = store.get(listRecid, LIST);
        if (list == null || list.length != (expected + CHUNK - 1) / CHUNK) {
            throw new DBException.DataCorruption("an index table's directory does not match its header");
        }
        chunks = Arrays.copyOf(list, Math.max(4, list.length));
        // Sized by what is read, not by the header: a damaged header claiming 2^28 buckets, with a list of as many
        // chunks naming one record again and again, would have this allocate gigabytes from a file of megabytes.
        int capacity = Integer.highestOneBit(Math.max(expected, 2) - 1) << 1;
        pages = new long[Math.min(capacity, CHUNK)];
        buckets = 0;
        Set<Long> seen = new HashSet<>();
        for (int c = 0; c < list.length; c++) {
            if (!seen.add(chunks[c])) {
                throw new DBException.DataCorruption("an index table's directory names one chunk twice");
            }
            long[] chunk = store.get(chunks[c], CHUNK_RECORD);
            if (chunk == null || chunk.length != Math.min(CHUNK, expected - c * CHUNK)) {
                throw new DBException.DataCorruption("an index table's directory chunk does not match its header");
            }
            if (buckets + chunk.length > pages.length) {
                pages = Arrays.copyOf(pages, Math.min(capacity, Math.max(2 * pages.length, buckets + chunk.length)));
            }
            for (long recid : chunk) {
                if (recid <= 0) {
                    throw new DBException.DataCorruption("an index table's directory names no page");
                }
                pages[buckets++] = recid;
            }
        }
    }

    private static DBException.DataCorruption loop() {
        return new DBException.DataCorruption("an index table bucket's pages form a loop");
    }

    /** 64 well-mixed bits of {@code key}: the bucket is its low bits, and it is compared before the key. */
    static long fingerprint(byte[] key) {
        long h = 0x9E3779B97F4A7C15L ^ key.length;
        int i = 0;
        for (; i + Long.BYTES <= key.length; i += Long.BYTES) {
            h = mix(h ^ (long) LONG.get(key, i));
        }
        long tail = 0;
        for (int shift = 0; i < key.length; i++, shift += 8) {
            tail |= (key[i] & 0xFFL) << shift;
        }
        return mix(h ^ tail);
    }

    /** The finaliser of MurmurHash3's 64-bit variant: every input bit affects every output bit. */
    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        return h ^ (h >>> 33);
    }

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
}
