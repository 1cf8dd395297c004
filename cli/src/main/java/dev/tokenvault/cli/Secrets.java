package dev.tokenvault.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/** Masking of secrets for output, and reading secrets from files or standard input (never from arguments). */
final class Secrets {
    /** Secrets shorter than this show only their length: four characters of a short secret give away too much. */
    static final int MIN_LENGTH_FOR_PREFIX = 12;
    static final int PREFIX = 4;

    private Secrets() {
    }

    /**
     * {@code 1000…(70 chars)}: the first four characters and the length in characters; for a secret shorter than
     * {@value #MIN_LENGTH_FOR_PREFIX} characters only the length. {@code null} stays {@code null}.
     */
    static String mask(String secret) {
        if (secret == null) {
            return null;
        }
        int length = secret.codePointCount(0, secret.length());
        String prefix = length >= MIN_LENGTH_FOR_PREFIX ? secret.substring(0, secret.offsetByCodePoints(0, PREFIX)) : "";
        return prefix + "\u2026(" + length + " chars)";
    }

    /**
     * Reads one secret from {@code source}: a file path, or {@code -} for standard input. Trailing line breaks are
     * removed (files written by {@code echo} end with one); nothing else is changed. An empty secret is a usage
     * error naming {@code option}.
     */
    static String read(String source, String option, InputStream stdin) {
        byte[] bytes;
        try {
            if ("-".equals(source)) {
                bytes = stdin.readAllBytes();
            } else {
                bytes = Files.readAllBytes(Path.of(source));
            }
        } catch (NoSuchFileException e) {
            // The argument is not repeated: a secret given where its file belongs would be printed in full.
            throw CliException.usage("the file given to " + option + " does not exist");
        } catch (IOException e) {
            // a FileSystemException without a reason has the path as its message
            String why = e instanceof java.nio.file.FileSystemException fse && fse.getReason() == null
                    && !(e instanceof java.nio.file.AccessDeniedException) ? e.getClass().getSimpleName()
                    : Io.reason(e);
            throw CliException.io("cannot read " + where(source, option) + ": " + why, e);
        }
        try {
            String s;
            try {
                s = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw CliException.usage(option + ": the secret is not UTF-8 text");
            }
            int end = s.length();
            while (end > 0 && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
                end--;
            }
            s = s.substring(0, end);
            if (s.isEmpty()) {
                throw CliException.usage(where(source, option) + " is empty");
            }
            if (s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
                throw CliException.usage(where(source, option) + " holds more than one line; give one secret per "
                        + "file");
            }
            return s;
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /** Where a secret came from, without the file's name (which may be the secret, given by mistake). */
    private static String where(String source, String option) {
        return "-".equals(source) ? option + ": standard input" : "the file given to " + option;
    }
}
