package dev.tokenvault.cli;

import picocli.CommandLine.Model.CommandSpec;

/**
 * The ID argument of get and delete. Ids kept by an import may begin with {@code -}, so the command line reads
 * {@code get -x1} as an id; but {@code --bogus} is far likelier a mistyped option than an id, and is refused unless
 * {@code --} comes before it.
 */
final class IdArgument {
    private IdArgument() {
    }

    static void check(String id, CommandSpec spec) {
        if (id != null && id.startsWith("--") && !spec.commandLine().getParseResult().originalArgs().contains("--")) {
            throw CliException.usage("unknown option " + Text.safe(id) + " (for an id that starts with --, put -- "
                    + "before it: tokenvault " + spec.name() + " -- " + Text.safe(id) + ")");
        }
    }
}
