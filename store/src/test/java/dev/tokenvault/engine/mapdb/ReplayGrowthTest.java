package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * At open, the replay first grows the main file to the length its redo records name (a power loss can take back the
 * growth of a commit whose record the log kept). A kill during that growth must leave a store that the next open
 * replays, not a length that is no whole number of pages, which the open refuses before it replays anything.
 */
class ReplayGrowthTest {
    @TempDir
    Path dir;

    static byte[] filled(int n, int fill) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    @Test
    void aKillWhileTheReplayGrowsTheMainFileLeavesAStoreTheNextOpenReplays() throws IOException {
        Path file = dir.resolve("store.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            engine.commit(new Batch().putRecord("a", new byte[100]));
        }
        byte[] lastSynced = Files.readAllBytes(file);
        OpenDb db = MapDbFiles.open(file, 1, CommitProbe.NONE); // a writer commits megabytes, then is killed
        Batch big = new Batch();
        for (int i = 0; i < 40; i++) {
            big.putRecord("big" + i, filled(100_000, i));
        }
        for (Batch.Op op : big.ops()) {
            db.apply(op);
        }
        db.db().commit();
        long grown = Files.size(file);
        db.volume().abandon();
        assertTrue(grown > lastSynced.length);
        Files.write(file, lastSynced); // a power loss: the main file as last synced, its growth lost; the log kept
        try (FileChannel main = FileChannel.open(file, StandardOpenOption.WRITE)) {
            // the replay's growth, killed after its first write
            assertThrows(IOException.class, () -> RedoLog.extend(new KilledAfter(main, 1), grown));
        }
        assertEquals(grown, Files.size(file), "the growth left a length in between");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            for (int i = 0; i < 40; i++) {
                assertArrayEquals(filled(100_000, i), engine.get("big" + i));
            }
        }
    }

    /** A redo record with a valid CRC that writes past its own file length contradicts itself: damage, not IO. */
    @Test
    void aRedoRecordWritingPastTheMainFileIsCorrupt() throws IOException {
        Path file = dir.resolve("store.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            engine.commit(new Batch().putRecord("a", new byte[10]));
        }
        long size = Files.size(file);
        ByteBuffer rec = ByteBuffer.allocate(RedoLog.HEADER + 12 + 8 + 4);
        rec.putInt(RedoLog.MAGIC).putLong(42L).putLong(0L).putLong(size).putInt(1);
        rec.putLong(1L << 40).putInt(8).putLong(-1L);
        CRC32C crc = new CRC32C();
        crc.update(rec.array(), 0, rec.position());
        rec.putInt((int) crc.getValue());
        Files.write(MapDbFiles.redoOf(file), rec.array());
        EngineException e = assertThrows(EngineException.class, () -> MapDbEngine.open(file, 1).close());
        assertEquals(EngineException.Kind.CORRUPT, e.kind(), e.getMessage());
    }

    /** A channel whose process is killed after {@code writes} writes: every later write fails. */
    private static final class KilledAfter extends FileChannel {
        private final FileChannel inner;
        private int writes;

        KilledAfter(FileChannel inner, int writes) {
            this.inner = inner;
            this.writes = writes;
        }

        private void write() throws IOException {
            if (writes-- <= 0) {
                throw new IOException("killed");
            }
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            write();
            return inner.write(src, position);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            write();
            return inner.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            write();
            return inner.write(srcs, offset, length);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return inner.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return inner.read(dsts, offset, length);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return inner.read(dst, position);
        }

        @Override
        public long position() throws IOException {
            return inner.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            inner.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return inner.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            inner.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            inner.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return inner.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            write();
            return inner.transferFrom(src, position, count);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return inner.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return inner.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return inner.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            inner.close();
        }
    }
}
