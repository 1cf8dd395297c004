package dev.tokenvault.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * What the command line is checked for before a command runs, with messages that never repeat a word the user typed
 * unless it names an option or a command: the word after a mistyped option is often the secret it was meant to give.
 */
final class CommandLineChecks {
    private CommandLineChecks() {
    }

    /** A word that names an option: {@code --name} (before any {@code =value}), or {@code -x}. */
    private static final Pattern OPTION_LIKE = Pattern.compile("--[A-Za-z][A-Za-z0-9-]{0,62}|-[A-Za-z]");
    /** A word that may be a mistyped command: lower-case letters and dashes, as the commands are. */
    private static final Pattern COMMAND_LIKE = Pattern.compile("[a-z][a-z-]{0,31}");

    /**
     * The message for arguments picocli could not match. Its own message repeats them, and the word after a mistyped
     * option is often the secret it was meant to give ({@code --refresh-token 1000.xxx}, {@code --db-password p}):
     * this one names only the option-like words of the command line that no option of the command knows, never
     * their values or the other words.
     */
    static String unmatchedMessage(CommandLine cl, String[] args) {
        List<String> unknown = new ArrayList<>();
        // options of the command line that a command above knows and this one does not take (keygen and demo use
        // no store): named as not this command's, after its name
        List<String> notTaken = new ArrayList<>();
        boolean root = cl.getCommandSpec().parent() == null;
        int commandAt = root ? args.length : Arrays.asList(args).indexOf(cl.getCommandSpec().name());
        String unknownCommand = null;
        boolean positionalSeen = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                break; // what follows is positional by request
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg : arg.substring(0, eq);
            CommandLine.Model.OptionSpec known = knownOption(cl, name);
            if (known != null) {
                if (commandAt >= 0 && i > commandAt && !ownOption(cl, name) && !notTaken.contains(name)) {
                    notTaken.add(name);
                }
                if (eq < 0 && known.arity().max() > 0) {
                    i++; // its value
                }
            } else if (OPTION_LIKE.matcher(name).matches()) {
                if (!unknown.contains(name) && !cl.getCommandSpec().subcommands().containsKey(name)) {
                    unknown.add(name);
                }
            } else if (!positionalSeen) {
                positionalSeen = true;
                // the command word: named when it looks like one and no unknown option (whose value it may be)
                // comes before it
                if (root && unknown.isEmpty() && COMMAND_LIKE.matcher(arg).matches()) {
                    unknownCommand = arg;
                }
            }
        }
        if (unknown.isEmpty() && unknownCommand == null && notTaken.isEmpty()) {
            return (root ? "unknown command or unexpected argument"
                    : "unexpected argument for " + cl.getCommandSpec().name())
                    + " (not repeated here: it may be a secret)";
        }
        StringBuilder b = new StringBuilder();
        if (unknownCommand != null) {
            b.append("unknown command ").append(unknownCommand);
        }
        if (!unknown.isEmpty()) {
            b.append(b.length() == 0 ? "" : "; ").append(unknown.size() == 1 ? "unknown option " : "unknown options ")
                    .append(String.join(", ", unknown));
        }
        if (!notTaken.isEmpty()) {
            b.append(b.length() == 0 ? "" : "; ").append(cl.getCommandSpec().name()).append(" does not take ")
                    .append(String.join(", ", notTaken));
        }
        for (String name : unknown) {
            if (name.startsWith("--") && knownOption(cl, name + "-file") != null) {
                b.append("; secrets are not taken on the command line: give ").append(name)
                        .append("-file FILE, or - for standard input");
                break;
            }
        }
        return b.toString();
    }

    /** Whether the command of {@code cl} itself has the option {@code name} (inherited ones included). */
    private static boolean ownOption(CommandLine cl, String name) {
        CommandLine.Model.OptionSpec option = cl.getCommandSpec().findOption(name);
        return option != null && Arrays.asList(option.names()).contains(name);
    }

    /** The option {@code name} of the command of {@code cl} or of a command above it; {@code null} if none. */
    private static CommandLine.Model.OptionSpec knownOption(CommandLine cl, String name) {
        for (CommandLine c = cl; c != null; c = c.getParent()) {
            CommandLine.Model.OptionSpec option = c.getCommandSpec().findOption(name);
            if (option != null && Arrays.asList(option.names()).contains(name)) {
                return option;
            }
        }
        return null;
    }

    /** The options that read standard input when given {@code -}. */
    static final List<String> STDIN_OPTIONS = List.of("--db-password-file", "--password-file",
            "--from-password-file", "--to-password-file", "--client-secret-file", "--access-token-file",
            "--refresh-token-file", "--grant-token-file");

    /**
     * Standard input can be read once: when two options of the command line (the command's own and the global ones)
     * are given {@code -}, says which; else {@code null}. Checked before the command runs, so that the second reader
     * does not fail with a misleading "standard input is empty".
     */
    static String twoStdinReaders(CommandLine.ParseResult parseResult) {
        List<String> readers = new ArrayList<>();
        for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
            for (CommandLine.Model.OptionSpec option : p.matchedOptions()) {
                if (STDIN_OPTIONS.contains(option.longestName()) && "-".equals(option.getValue())
                        && !readers.contains(option.longestName())) {
                    readers.add(option.longestName());
                }
            }
        }
        if (readers.size() < 2) {
            return null;
        }
        String last = readers.remove(readers.size() - 1);
        return "only one option can read standard input (-), but " + String.join(", ", readers) + " and " + last
                + " are given -; give all but one as files";
    }
}
