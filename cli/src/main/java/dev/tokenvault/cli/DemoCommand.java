package dev.tokenvault.cli;

import dev.tokenvault.MasterKey;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", description = {
    "Walks through the Zoho SDK's token lifecycle on an embedded store in a fresh temporary directory, printing "
            + "each step, then reads the store's own files and shows that none of the saved secrets appear in them.",
    "Needs no key and no store: it makes its own and removes them at the end (unless --keep)."})
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    TokenvaultCli root;

    @Option(names = "--keep", description = "Keep the temporary directory with the store and its key file.")
    boolean keep;

    /** With --keep, the demo's master key is written here (0600), so that the kept store can be opened. */
    static final String KEY_FILE = "master.key";

    private final SecureRandom random = new SecureRandom();
    private final List<String> secrets = new ArrayList<>();
    private final List<Map<String, Object>> steps = new ArrayList<>();
    private Render r;
    private int step;

    @Override
    public Integer call() throws IOException {
        r = root.render();
        Path dir = Files.createTempDirectory("tokenvault-demo-");
        Path store = dir.resolve("tokenvault.db");
        boolean leaked;
        try {
            leaked = run(dir, store);
        } finally {
            if (!keep) {
                deleteTree(dir);
            }
        }
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("directory", dir.toString());
            doc.put("kept", keep);
            doc.put("keyFile", keep ? dir.resolve(KEY_FILE).toString() : null);
            doc.put("steps", steps);
            doc.put("secretsChecked", secrets.size());
            doc.put("secretsFoundInStoreFiles", leaked);
            r.json(doc);
        } else {
            r.out.println();
            r.out.println(keep ? "kept " + dir + " with the store and its key; look inside with: tokenvault --store "
                    + store + " --key-file " + dir.resolve(KEY_FILE) + " list" : "removed " + dir);
            r.out.flush();
        }
        return leaked ? ExitCode.KEY_OR_INTEGRITY : ExitCode.OK;
    }

    private boolean run(Path dir, Path store) throws IOException {
        String clientId = "1000." + random(15).toUpperCase(java.util.Locale.ROOT);
        String clientSecret = secret(random(21));
        String grant = secret(zohoToken());
        String firstAccess = secret(zohoToken());
        String refresh = secret(zohoToken());
        String redirect = "https://app.example.com/oauth/callback";
        String api = "https://www.zohoapis.com";
        String user = "patricia@zylker.example";
        String id;

        MasterKey key = demoKey(dir);
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            key.destroy();
            step("a new store", "store: " + store, keep ? "master key: 256 random bits, kept in " + KEY_FILE
                    + " (--keep)" : "master key: 256 random bits, in memory only (the caller may destroy its copy "
                    + "after open)");

            OAuthToken token = OAuthToken.builder().clientId(clientId).clientSecret(clientSecret).grantToken(grant)
                    .redirectUrl(redirect).build();
            OAuthToken before = vault.findToken(token.copy());
            step("the SDK starts with a grant token and client credentials",
                    "findToken(grantToken + clientId + clientSecret) -> " + (before == null ? "null" : before.getId()),
                    "nothing stored yet, so the SDK exchanges the grant token at accounts.zoho.com");

            token.setAccessToken(firstAccess);
            token.setRefreshToken(refresh);
            token.setExpiryTime(Long.toString(System.currentTimeMillis() + 3_600_000));
            token.setApiDomain(api);
            token.setUserName(user);
            vault.saveToken(token);
            id = token.getId();
            step("saveToken after the grant exchange: an id is assigned", "id: " + id,
                    "accessToken: " + r.secret(firstAccess), "refreshToken: " + r.secret(refresh),
                    "grantToken: " + r.secret(grant), "clientSecret: " + r.secret(clientSecret));

            String otherAccess = secret(zohoToken());
            String otherRefresh = secret(zohoToken());
            OAuthToken other = OAuthToken.builder().userName("sam@zylker.example").clientId(clientId)
                    .clientSecret(clientSecret).accessToken(otherAccess).refreshToken(otherRefresh)
                    .expiryTime(Long.toString(System.currentTimeMillis() + 3_600_000)).apiDomain(api).build();
            vault.saveToken(other);
            step("a second user signs in", "id: " + other.getId() + "  userName: " + other.getUserName());

            OAuthToken byUser = vault.findToken(OAuthToken.builder().userName(user).build());
            step("findToken by user name (the SDK's first lookup rule)",
                    "findToken(userName=" + user + ") -> id " + byUser.getId(),
                    "accessToken: " + r.secret(byUser.getAccessToken()));

            String newAccess = secret(zohoToken());
            OAuthToken refreshed = vault.findTokenById(id);
            refreshed.setAccessToken(newAccess);
            refreshed.setExpiryTime(Long.toString(System.currentTimeMillis() + 3_600_000));
            vault.saveToken(refreshed);
            OAuthToken oldLookup = vault.findToken(OAuthToken.builder().accessToken(firstAccess).build());
            OAuthToken newLookup = vault.findToken(OAuthToken.builder().accessToken(newAccess).build());
            step("an hour later the SDK refreshes: new access token, same id",
                    "saveToken(id " + id + ", accessToken " + r.secret(newAccess) + ") -> id " + refreshed.getId()
                            + (id.equals(refreshed.getId()) ? " (same)" : " (CHANGED)"),
                    "findToken(old accessToken) -> " + (oldLookup == null ? "null (the old value no longer finds it)"
                            : "id " + oldLookup.getId() + " (STALE)"),
                    "findToken(new accessToken) -> " + (newLookup == null ? "null" : "id " + newLookup.getId()));

            OAuthToken byRefresh = vault.findToken(OAuthToken.builder().refreshToken(refresh).clientId(clientId)
                    .clientSecret(clientSecret).build());
            step("findToken by refresh token with client credentials (a restart without a user name)",
                    "findToken(refreshToken + clientId + clientSecret) -> id "
                            + (byRefresh == null ? "null" : byRefresh.getId()));

            OAuthToken revoke = vault.findToken(OAuthToken.builder().id(id).build());
            step("an id-only find, as the SDK's revoke(id) does to read the refresh token back",
                    "findToken(id=" + id + ") -> refreshToken " + (revoke == null ? "null"
                            : r.secret(revoke.getRefreshToken())));

            List<OAuthToken> all = new ArrayList<>(vault.getTokens());
            all.sort(ListCommand.ORDER);
            List<String> lines = new ArrayList<>();
            for (OAuthToken t : all) {
                lines.add(t.getId() + "  " + t.getUserName() + "  access " + r.secret(t.getAccessToken())
                        + "  refresh " + r.secret(t.getRefreshToken()));
            }
            lines.add(0, "getTokens() -> " + all.size() + " tokens" + (r.reveal ? "" : " (masked)"));
            step("list", lines.toArray(String[]::new));

            vault.deleteToken(id);
            String after;
            try {
                vault.findTokenById(id);
                after = "still there (WRONG)";
            } catch (TokenStoreException e) {
                after = e.code() + " (" + e.getMessage() + ")";
            }
            step("deleteToken(id) after the user revokes access", "findTokenById(" + id + ") -> " + after,
                    "findToken(refreshToken + client credentials) -> "
                            + (vault.findToken(OAuthToken.builder().refreshToken(refresh).clientId(clientId)
                                    .clientSecret(clientSecret).build()) == null ? "null" : "found (WRONG)"));
        }
        return scan(dir);
    }

    /** A new random key; with --keep also written to {@link #KEY_FILE} (owner only), else in memory only. */
    private MasterKey demoKey(Path dir) {
        if (!keep) {
            return MasterKey.generate();
        }
        byte[] key = new byte[MasterKey.LENGTH];
        random.nextBytes(key);
        try {
            KeygenCommand.write(dir.resolve(KEY_FILE), key);
            return MasterKey.fromBytes(key);
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
    }

    /** Reads every file of the store and looks for every secret saved, whole and in part. */
    private boolean scan(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().equals(KEY_FILE))
                    .sorted().toList();
        }
        List<String> lines = new ArrayList<>();
        boolean leaked = false;
        long total = 0;
        for (Path f : files) {
            byte[] content = Files.readAllBytes(f);
            total += content.length;
            int found = 0;
            for (String s : secrets) {
                String tail = s.substring(s.length() - 16); // the random part, also when a prefix is shared
                if (contains(content, s.getBytes(StandardCharsets.UTF_8))
                        || contains(content, tail.getBytes(StandardCharsets.UTF_8))
                        || contains(content, tail.getBytes(StandardCharsets.UTF_16BE))
                        || contains(content, tail.getBytes(StandardCharsets.UTF_16LE))) {
                    found++;
                }
            }
            leaked |= found > 0;
            lines.add(dir.relativize(f) + ": " + content.length + " bytes, " + found + " of " + secrets.size()
                    + " secrets found");
        }
        lines.add(leaked ? "LEAK: a secret appears in plaintext in the store files"
                : "none of the " + secrets.size() + " secrets saved (grant, access, refresh tokens and the client "
                        + "secret, including the deleted record's) appears in the " + files.size() + " store files ("
                        + total + " bytes)");
        step("the store's files on disk", lines.toArray(String[]::new));
        return leaked;
    }

    static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private void step(String title, String... details) {
        step++;
        if (r.json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", step);
            m.put("title", title);
            m.put("details", List.of(details));
            steps.add(m);
            return;
        }
        r.out.println((step == 1 ? "" : "\n") + step + ". " + title);
        for (String d : details) {
            r.out.println("   " + d);
        }
        r.out.flush();
    }

    private String secret(String s) {
        secrets.add(s);
        return s;
    }

    /** A value shaped like a Zoho token: {@code 1000.} then 32 and 32 hex digits (70 characters). */
    private String zohoToken() {
        return "1000." + random(16) + "." + random(16);
    }

    private String random(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
