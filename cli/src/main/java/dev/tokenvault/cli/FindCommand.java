package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "find", description = {
    "Finds a token as the SDK's findToken does.",
    "The first rule that applies decides:",
    "  1. --user NAME",
    "  2. --access-token-file FILE (without client credentials)",
    "  3. --grant-token-file or --refresh-token-file FILE",
    "     with --client-id and --client-secret-file",
    "     (the grant token's record, else the refresh token's)",
    "  4. --id ID (what the SDK's revoke does)",
    "Exit code 1 when nothing matches."})
final class FindCommand extends StoreCommand {
    @Mixin
    TokenOptions fields;

    @Override
    boolean readsOnly() {
        return true;
    }

    @Override
    public Integer call() {
        OAuthToken query = fields.toToken(io().in);
        String rule = rule(query);
        if (rule == null) {
            throw CliException.usage(usageHint(query));
        }
        Render r = root.render();
        try (TokenVault vault = openStore()) {
            OAuthToken found = vault.findToken(query);
            if (found == null) {
                throw CliException.notFound("no token matches (by " + rule + ")");
            }
            if (r.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("matchedBy", rule);
                doc.put("token", r.token(found));
                r.json(doc);
            } else {
                r.out.println("found token " + Text.safe(found.getId()) + " (by " + rule + ")");
                r.details(found);
            }
        }
        return ExitCode.OK;
    }

    /** The contract rule that decides for {@code q}, or {@code null} when none applies. */
    static String rule(OAuthToken q) {
        boolean clientId = present(q.getClientId());
        boolean clientSecret = present(q.getClientSecret());
        if (present(q.getUserName())) {
            return "userName";
        }
        if (present(q.getAccessToken()) && !clientId && !clientSecret) {
            return "accessToken";
        }
        if ((present(q.getGrantToken()) || present(q.getRefreshToken())) && clientId && clientSecret) {
            return present(q.getGrantToken())
                    ? (present(q.getRefreshToken()) ? "grantToken, else refreshToken" : "grantToken")
                    : "refreshToken";
        }
        if (present(q.getId())) {
            return "id";
        }
        return null;
    }

    private static String usageHint(OAuthToken q) {
        if (present(q.getGrantToken()) || present(q.getRefreshToken())) {
            return "a grant or refresh token finds a token only with both --client-id and --client-secret-file";
        }
        if (present(q.getAccessToken())) {
            return "an access token finds a token only without --client-id and --client-secret-file";
        }
        return "say what to find: --user, --access-token-file, --refresh-token-file or --grant-token-file with "
                + "--client-id and --client-secret-file, or --id";
    }

    private static boolean present(String s) {
        return s != null && !s.isEmpty();
    }
}
