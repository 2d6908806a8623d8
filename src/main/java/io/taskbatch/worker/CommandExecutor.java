package io.taskbatch.worker;

import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code command} executor: runs one child process per task attempt.
 *
 * <p>The argv is used exactly as configured (never a shell line built from the input). The child
 * gets the input on stdin (UTF-8, then a newline, then EOF) and in {@code TASK_INPUT}, plus
 * {@code TASK_ID}, {@code TASK_ATTEMPT} and {@code TASK_BATCH}. Exit 0 returns stdout (the first
 * {@value #STDOUT_CAP_BYTES} bytes, minus one trailing newline); any other exit fails the attempt
 * with the exit code and the tail of stderr (its last {@value #STDERR_TAIL_LINES} lines, at most
 * {@value #STDERR_TAIL_BYTES} bytes). When the deadline passes, the whole process tree is killed
 * and the attempt fails with that tail too; when the calling thread is interrupted, the tree is
 * killed and the interrupt rethrown. A success keeps that tail only when asked, and every attempt's
 * tail may go to the log: see {@link TaskStderr}.
 *
 * <p>Linux refuses to start a program with an environment string over 128 KiB, and no environment
 * can hold a NUL character: an input longer than {@value #ENV_INPUT_MAX_BYTES} bytes (UTF-8) or
 * containing NUL is passed on stdin only, and {@code TASK_INPUT} is unset.
 */
public final class CommandExecutor implements TaskExecutor {

    public static final int STDOUT_CAP_BYTES = 1024 * 1024;
    public static final int STDERR_TAIL_BYTES = 4 * 1024;
    /** Of those bytes, at most this many lines are kept in a failed result's error. */
    public static final int STDERR_TAIL_LINES = 20;
    public static final int ENV_INPUT_MAX_BYTES = 64 * 1024;
    static final String TRUNCATION_MARKER = HeadBuffer.truncationMarker(STDOUT_CAP_BYTES);

    /** How long to wait for the output pipes to close once every process of the tree is dead. */
    static final Duration DRAIN_AFTER_KILL = Duration.ofSeconds(1);

    /** The operating system's words in the JDK's messages: "error=2, No such file..." or "error: 2 (No such file...)". */
    private static final Pattern OS_ERROR = Pattern.compile("error[=:]\\s*\\d+,?\\s*\\(?([^)]+)\\)?\\s*$");

    private final List<String> argv;
    private final Path workDir;
    private final Map<String, String> extraEnv;
    private final TaskStderr stderr;

    /**
     * @param argv     program and arguments, used as is
     * @param workDir  the child's working directory; null inherits the worker's
     * @param extraEnv added to the inherited environment; may be null
     */
    public CommandExecutor(List<String> argv, Path workDir, Map<String, String> extraEnv) {
        this(argv, workDir, extraEnv, TaskStderr.NONE);
    }

    /** @param stderr what else becomes of a task's stderr: kept on success, logged */
    public CommandExecutor(List<String> argv, Path workDir, Map<String, String> extraEnv, TaskStderr stderr) {
        if (argv == null || argv.isEmpty()) throw new IllegalArgumentException("command argv must not be empty");
        this.stderr = stderr;
        this.argv = List.copyOf(argv);
        if (this.argv.get(0).isEmpty()) throw new IllegalArgumentException("command argv[0] must not be empty");
        this.workDir = workDir;
        this.extraEnv = checkedEnv(extraEnv);
    }

    /** A copy of {@code env}, refused now if the operating system would refuse it at every start. */
    static Map<String, String> checkedEnv(Map<String, String> env) {
        if (env == null) return Map.of();
        Map<String, String> copy = Map.copyOf(env);
        new ProcessBuilder().environment().putAll(copy); // throws IllegalArgumentException for '=' in a name or a NUL
        return copy;
    }

    @Override
    public boolean waitsMostly() {
        return true;
    }

    @Override
    public String execute(TaskMessage task) throws Exception {
        return run(task).text();
    }

    @Override
    public Output run(TaskMessage task) throws Exception {
        TaskContext ctx = TaskContext.require();
        Duration budget = ctx.remaining();
        if (budget.isZero()) throw new TaskFailure("timed out before the command started: the attempt's deadline had passed");
        byte[] stdin = (task.input() + "\n").getBytes(StandardCharsets.UTF_8);

        boolean inputFitsEnv = stdin.length - 1 <= ENV_INPUT_MAX_BYTES && task.input().indexOf('\0') < 0;
        Process process = start(task, ctx, inputFitsEnv);
        HeadBuffer out = new HeadBuffer(STDOUT_CAP_BYTES);
        TailBuffer err = new TailBuffer(STDERR_TAIL_BYTES);
        Future<?> outDrain = null;
        Future<?> errDrain = null;
        try {
            outDrain = StreamPumps.start(() -> out.drain(process.getInputStream()));
            errDrain = StreamPumps.start(() -> err.drain(process.getErrorStream()));
            StreamPumps.feed(process.getOutputStream(), stdin);

            if (!process.waitFor(Math.max(0, ctx.deadlineNanos() - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                int killed = ProcessTree.kill(process.toHandle());
                StreamPumps.awaitQuietly(DRAIN_AFTER_KILL, outDrain, errDrain);
                throw new TaskFailure("timed out after " + describe(budget) + "; killed process tree of pid " + process.pid()
                        + " (" + killed + (killed == 1 ? " process)" : " processes)") + withStderr(err.text()));
            }
            // The child is gone, but a background process it started may still hold the pipes open.
            if (!StreamPumps.awaitAll(ctx.remaining(), outDrain, errDrain)) {
                throw new TaskFailure("timed out after " + describe(budget) + ": pid " + process.pid() + " exited with code "
                        + process.exitValue() + " but its stdout or stderr stayed open (a background process it started still holds them)"
                        + withStderr(err.text()));
            }
            int code = process.exitValue();
            if (code != 0) {
                String tail = stderrTail(err.text());
                throw new TaskFailure(tail.isEmpty() ? "exit code " + code : "exit code " + code + ": " + tail);
            }
            return new Output(out.text(), stderr.keptOnSuccess(err, 0));
        } catch (InterruptedException e) {
            ProcessTree.kill(process.toHandle());
            StreamPumps.awaitQuietly(DRAIN_AFTER_KILL, outDrain, errDrain);
            throw e;
        } finally {
            if (process.isAlive()) ProcessTree.kill(process.toHandle());
            stderr.forward(err, 0); // every outcome: a failure's stderr is as worth reading as a success's
        }
    }

    private Process start(TaskMessage task, TaskContext ctx, boolean inputInEnv) throws TaskFailure {
        ProcessBuilder pb = new ProcessBuilder(argv);
        if (workDir != null) pb.directory(workDir.toFile());
        Map<String, String> env = pb.environment();
        env.putAll(extraEnv);
        if (inputInEnv) env.put("TASK_INPUT", task.input());
        else env.remove("TASK_INPUT"); // never one inherited from the worker
        env.put("TASK_ID", Long.toString(task.id()));
        env.put("TASK_ATTEMPT", Integer.toString(task.attempt()));
        env.put("TASK_BATCH", ctx.batch());
        try {
            return pb.start();
        } catch (IOException e) {
            String reason = workDir != null && !Files.isDirectory(workDir)
                    ? "working directory " + workDir + " does not exist"
                    : startFailureReason(e);
            throw TaskFailure.permanent("cannot start " + argv.get(0) + ": " + reason);
        }
    }

    static String startFailureReason(IOException e) {
        // 'Cannot run program "x": error=2, No such file or directory' repeats what we say already
        Throwable cause = e.getCause();
        String reason = cause != null && cause.getMessage() != null ? cause.getMessage() : e.getMessage();
        if (reason == null) return e.getClass().getSimpleName();
        Matcher m = OS_ERROR.matcher(reason);
        return m.find() ? m.group(1).trim() : reason.trim();
    }

    /**
     * What a result's error keeps of a child's stderr: its last {@value #STDERR_TAIL_LINES} lines
     * (of at most {@value #STDERR_TAIL_BYTES} bytes already), without surrounding blank space.
     */
    static String stderrTail(String stderr) {
        String text = stderr.strip();
        int cut = text.length();
        for (int lines = 0; lines < STDERR_TAIL_LINES && cut > 0; lines++) {
            cut = text.lastIndexOf('\n', cut - 1);
            if (cut < 0) return text;
        }
        return cut <= 0 ? text : text.substring(cut + 1);
    }

    /** {@code "; stderr: TAIL"}, or nothing when the child wrote nothing there. */
    static String withStderr(String stderr) {
        String tail = stderrTail(stderr);
        return tail.isEmpty() ? "" : "; stderr: " + tail;
    }

    /** "1.5s", "250ms", "2m30s": short enough for an error message. */
    static String describe(Duration d) {
        long ms = (d.toNanos() + 999_999) / 1_000_000; // a budget of 999.9ms was a 1s timeout
        if (ms < 1000) return ms + "ms";
        if (ms < 60_000) return (ms % 1000 == 0 ? Long.toString(ms / 1000) : String.format(Locale.ROOT, "%.1f", ms / 1000.0)) + "s";
        long s = d.toSeconds();
        return (s / 60) + "m" + (s % 60 == 0 ? "" : (s % 60) + "s");
    }
}
