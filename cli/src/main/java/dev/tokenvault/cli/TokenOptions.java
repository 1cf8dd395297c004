package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import java.io.InputStream;
import picocli.CommandLine.Option;

/**
 * The token fields that save and find share. Secret values are read from files or standard input ({@code -}),
 * never taken from the command line, where other users can read them in the process list.
 */
final class TokenOptions {
    @Option(names = "--id", paramLabel = "ID", description = "The token's id.")
    String id;

    @Option(names = "--user", paramLabel = "NAME", description = "The user name (user_name / user_mail).")
    String user;

    @Option(names = "--client-id", paramLabel = "ID", description = "The OAuth client id.")
    String clientId;

    @Option(names = "--client-secret-file", paramLabel = "FILE",
            description = "File holding the client secret, or - for standard input.")
    String clientSecretFile;

    @Option(names = "--access-token-file", paramLabel = "FILE",
            description = "File holding the access token, or - for standard input.")
    String accessTokenFile;

    @Option(names = "--refresh-token-file", paramLabel = "FILE",
            description = "File holding the refresh token, or - for standard input.")
    String refreshTokenFile;

    @Option(names = "--grant-token-file", paramLabel = "FILE",
            description = "File holding the grant token, or - for standard input.")
    String grantTokenFile;

    /**
     * A token with the given fields; secrets read from their files, at most one from standard input (the command line
     * is checked for that before the command runs: {@link CommandLineChecks#twoStdinReaders}).
     */
    OAuthToken toToken(InputStream stdin) {
        return OAuthToken.builder()
                .id(id)
                .userName(user)
                .clientId(clientId)
                .clientSecret(read(clientSecretFile, "--client-secret-file", stdin))
                .accessToken(read(accessTokenFile, "--access-token-file", stdin))
                .refreshToken(read(refreshTokenFile, "--refresh-token-file", stdin))
                .grantToken(read(grantTokenFile, "--grant-token-file", stdin))
                .build();
    }

    private static String read(String source, String option, InputStream stdin) {
        return source == null ? null : Secrets.read(source, option, stdin);
    }
}
