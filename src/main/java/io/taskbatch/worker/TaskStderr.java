package io.taskbatch.worker;

import io.taskbatch.api.RunSpec;
import org.jboss.logging.Logger;

/**
 * What becomes of a task attempt's stderr besides a failure's error ({@code spec.run.keepStderr},
 * {@code spec.run.logStderr}): kept in a succeeded result, written to the worker's log.
 *
 * <p>Both use the tail a failure's error keeps ({@link CommandExecutor#stderrTail}: the last
 * {@value CommandExecutor#STDERR_TAIL_LINES} lines, at most {@value CommandExecutor#STDERR_TAIL_BYTES}
 * bytes), so the log never gets more than that per attempt, however much a task writes: one INFO
 * line per stderr line, plus one line that says so when earlier lines were left out.
 *
 * <p>Logging is a spec field, not a worker flag: the batch's author knows whether their program's
 * stderr is worth reading, and the spec reaches every worker the same way ({@code run}, {@code
 * worker --manifest}, the operator's worker Job) without the operator or the chart passing a flag.
 * It is written when the attempt ends, not line by line as it arrives: a {@code processPool}
 * child's stderr is one pipe for all its tasks, and only between a request and its answer are its
 * lines known to be that task's; at the end of the attempt, on the slot thread, the task's log MDC
 * (batch, taskId, attempt) is bound, and the cap is the tail's.
 */
public record TaskStderr(boolean keep, boolean log) {

    public static final TaskStderr NONE = new TaskStderr(false, false);
    /** The log category of forwarded lines: its level silences or shows them. */
    public static final String LOG_CATEGORY = "io.taskbatch.task.stderr";
    private static final Logger LOG = Logger.getLogger(LOG_CATEGORY);

    public static TaskStderr of(RunSpec run) {
        return new TaskStderr(run.isKeepStderr(), run.isLogStderr());
    }

    /**
     * Logs what the attempt wrote to {@code stderr} after {@code mark} (a {@link TailBuffer#total()}),
     * when {@link #log()}. Call it once per attempt, on the thread that runs the task.
     */
    void forward(TailBuffer stderr, long mark) {
        if (!log || !LOG.isInfoEnabled()) return;
        String text = stderr.textSince(mark);
        String tail = CommandExecutor.stderrTail(text);
        if (tail.isEmpty()) return;
        boolean cut = stderr.total() - mark > CommandExecutor.STDERR_TAIL_BYTES || tail.length() < text.strip().length();
        if (cut) {
            LOG.infof("(earlier stderr lines not logged: at most the last %d lines, %d bytes, of an attempt are)",
                    CommandExecutor.STDERR_TAIL_LINES, CommandExecutor.STDERR_TAIL_BYTES);
        }
        tail.lines().forEach(LOG::info);
    }

    /** What a succeeded attempt's result keeps of {@code stderr} after {@code mark}: its tail when {@link #keep()}, else null. */
    String keptOnSuccess(TailBuffer stderr, long mark) {
        if (!keep) return null;
        String tail = CommandExecutor.stderrTail(stderr.textSince(mark));
        return tail.isEmpty() ? null : tail;
    }
}
