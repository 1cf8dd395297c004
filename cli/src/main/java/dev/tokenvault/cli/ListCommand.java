package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "list", description = "Lists every token (secrets masked), ordered by user name and id.")
final class ListCommand extends StoreCommand {
    static final Comparator<OAuthToken> ORDER = Comparator
            .comparing(OAuthToken::getUserName, Comparator.nullsLast(Comparator.naturalOrder()))
            .thenComparing(OAuthToken::getId, Comparator.nullsLast(Comparator.naturalOrder()));

    @Override
    boolean readsOnly() {
        return true;
    }

    @Override
    public Integer call() {
        Render r = root.render();
        List<OAuthToken> tokens;
        try (TokenVault vault = openStore()) {
            tokens = new ArrayList<>(vault.getTokens());
        }
        tokens.sort(ORDER);
        if (r.json) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (OAuthToken t : tokens) {
                list.add(r.token(t));
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("count", tokens.size());
            doc.put("tokens", list);
            r.json(doc);
        } else if (tokens.isEmpty()) {
            r.out.println("the store holds no tokens");
            r.out.flush();
        } else {
            r.tokenTable(tokens);
            r.out.println(tokens.size() + (tokens.size() == 1 ? " token" : " tokens"));
            r.out.flush();
        }
        return ExitCode.OK;
    }
}
