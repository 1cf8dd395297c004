package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "save", description = {
    "Saves a token, as the SDK's saveToken does: updates the record that --id (or the user name, the access "
            + "token, a grant or refresh token with client credentials, or a record already holding one of the "
            + "tokens) selects, else inserts one.",
    "Secrets come from files or standard input: e.g. --refresh-token-file - reads the refresh token from stdin."})
final class SaveCommand extends StoreCommand {
    private static final Clock CLOCK = Clock.systemUTC();
    /** OAuth access tokens live an hour, refresh tokens until revoked: ten years is far beyond any real expiry. */
    static final long MAX_EXPIRES_IN_SECONDS = 10L * 366 * 24 * 3600;

    @Mixin
    TokenOptions fields;

    @ArgGroup(exclusive = true)
    Expiry expiry;

    static final class Expiry {
        @Option(names = "--expiry-time", paramLabel = "MILLIS",
                description = "Absolute expiry in epoch milliseconds.")
        String expiryTime;

        @Option(names = "--expires-in", paramLabel = "SECONDS",
                description = "Expiry as seconds from now, at most 10 years (stored as epoch milliseconds).")
        Long expiresIn;
    }

    @Option(names = "--redirect-url", paramLabel = "URL", description = "The OAuth redirect URL.")
    String redirectUrl;

    @Option(names = "--api-domain", paramLabel = "URL", description = "The API domain, e.g. https://www.zohoapis.com.")
    String apiDomain;

    @Override
    public Integer call() {
        OAuthToken token = fields.toToken(io().in);
        if (expiry != null) {
            if (expiry.expiresIn != null) {
                if (expiry.expiresIn < 0 || expiry.expiresIn > MAX_EXPIRES_IN_SECONDS) {
                    throw CliException.usage("--expires-in must be between 0 and " + MAX_EXPIRES_IN_SECONDS
                            + " seconds (10 years); got " + expiry.expiresIn);
                }
                token.setExpiryTime(Long.toString(CLOCK.millis() + expiry.expiresIn * 1000));
            } else {
                token.setExpiryTime(expiry.expiryTime);
            }
        }
        token.setRedirectUrl(redirectUrl);
        token.setApiDomain(apiDomain);
        Render r = root.render();
        try (TokenVault vault = openStore()) {
            // A save updates a record its id or a unique value selects, else inserts one under an id none has.
            Set<String> selectable = StoredHolders.ids(vault, token);
            vault.saveToken(token);
            boolean inserted = !selectable.contains(token.getId());
            if (r.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("action", inserted ? "inserted" : "updated");
                doc.put("token", r.token(token));
                r.json(doc);
            } else {
                r.out.println((inserted ? "inserted" : "updated") + " token " + Text.safe(token.getId()));
                r.details(token);
            }
        }
        return ExitCode.OK;
    }
}
