package dev.tokenvault.cli;

/** A failure the CLI reports as one message on standard error and an exit code. */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final String errorName;

    CliException(int exitCode, String errorName, String message) {
        super(message);
        this.exitCode = exitCode;
        this.errorName = errorName;
    }

    CliException(int exitCode, String errorName, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
        this.errorName = errorName;
    }

    static CliException usage(String message) {
        return new CliException(ExitCode.USAGE, "USAGE", message);
    }

    static CliException io(String message, Throwable cause) {
        return new CliException(ExitCode.IO, "IO", message, cause);
    }

    static CliException conflict(String message) {
        return new CliException(ExitCode.CONFLICT, "CONFLICT", message);
    }

    static CliException notFound(String message) {
        return new CliException(ExitCode.NOT_FOUND, "NOT_FOUND", message);
    }

    int exitCode() {
        return exitCode;
    }

    /** A stable name for the JSON error document. */
    String errorName() {
        return errorName;
    }
}
