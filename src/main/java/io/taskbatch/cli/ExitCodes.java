package io.taskbatch.cli;

/** What the roles exit with, for scripts and Kubernetes Jobs. */
public final class ExitCodes {
    /** The batch succeeded. */
    public static final int SUCCEEDED = 0;
    /** The batch failed (its failure policy was exceeded, or its source could not be read). */
    public static final int FAILED = 1;
    /** The manifest or the command line is invalid; nothing was run. */
    public static final int INVALID = 2;
    /** The broker (or, for the cluster commands, the Kubernetes API) could not be reached; running again later may work. */
    public static final int UNAVAILABLE = 3;
    /**
     * {@code run} was stopped by Ctrl-C (SIGINT): the JVM's own status for it, after {@code run} stored what finished,
     * cancelled the rest and printed the summary.
     */
    public static final int INTERRUPTED = 130;
    /** {@code run} was stopped by SIGTERM, likewise. */
    public static final int TERMINATED = 143;

    private ExitCodes() {
    }
}
