package dev.tokenvault.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.modes.GCMModeCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The crypto engine choice of docs/ARCHITECTURE.md section 5, kept measured: one seal and one open of a 400-byte
 * record with AES-256-GCM (96-bit nonce, 128-bit tag, about 50 bytes of associated data, as a tokenvault record has)
 * through the JDK's SunJCE provider (AES-NI, constant time) and through BouncyCastle's lightweight
 * {@code GCMBlockCipher}; and one blind-index HMAC-SHA256 of a 70-character token through {@code javax.crypto.Mac},
 * truncated to 16 bytes.
 * A fresh nonce per seal (a counter here, so that {@code SecureRandom} is not measured; GCM refuses a reused one).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-XX:+AlwaysPreTouch")
public class CryptoBenchmark {
    private final byte[] key = new byte[32];
    private final byte[] plaintext = new byte[400];
    private final byte[] aad = new byte[6 + 32 + 4 + 10];
    private final byte[] nonce = new byte[12];
    private long counter;
    private SecretKeySpec aesKey;
    private Cipher sunjce;
    private Mac mac;
    /** One instance each per thread, re-initialised per call, as SunJCE's is (BC keeps its tables for the key). */
    private final GCMModeCipher bcSeal = GCMBlockCipher.newInstance(AESEngine.newInstance());
    private final GCMModeCipher bcOpen = GCMBlockCipher.newInstance(AESEngine.newInstance());
    private String indexValue;

    @Setup
    public void setUp() throws GeneralSecurityException {
        SplittableRandom r = new SplittableRandom(7);
        for (byte[] b : new byte[][] {key, plaintext, aad, nonce}) {
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) r.nextInt(256);
            }
        }
        aesKey = new SecretKeySpec(key, "AES");
        sunjce = Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(Arrays.copyOf(key, 32), "HmacSHA256"));
        indexValue = TokenData.refreshToken(12345);
    }

    private byte[] nextNonce() {
        ByteBuffer.wrap(nonce).putLong(4, ++counter);
        return nonce;
    }

    @Benchmark
    public byte[] sunjceSealOpen() throws GeneralSecurityException {
        GCMParameterSpec spec = new GCMParameterSpec(128, nextNonce());
        sunjce.init(Cipher.ENCRYPT_MODE, aesKey, spec);
        sunjce.updateAAD(aad);
        byte[] sealed = sunjce.doFinal(plaintext);
        sunjce.init(Cipher.DECRYPT_MODE, aesKey, spec);
        sunjce.updateAAD(aad);
        return sunjce.doFinal(sealed);
    }

    @Benchmark
    public byte[] bouncyCastleSealOpen() throws InvalidCipherTextException {
        AEADParameters params = new AEADParameters(new KeyParameter(key), 128, nextNonce().clone(), aad);
        GCMModeCipher gcm = bcSeal;
        gcm.init(true, params);
        byte[] sealed = new byte[gcm.getOutputSize(plaintext.length)];
        int n = gcm.processBytes(plaintext, 0, plaintext.length, sealed, 0);
        gcm.doFinal(sealed, n);
        GCMModeCipher dec = bcOpen;
        dec.init(false, params);
        byte[] opened = new byte[dec.getOutputSize(sealed.length)];
        int m = dec.processBytes(sealed, 0, sealed.length, opened, 0);
        dec.doFinal(opened, m);
        return opened;
    }

    @Benchmark
    public byte[] blindIndexHmac() {
        return Arrays.copyOf(mac.doFinal(indexValue.getBytes(StandardCharsets.UTF_8)), 16);
    }
}
