package io.taskbatch.worker;

import io.taskbatch.queue.TaskMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

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
 * <p>The task is its first process: when that one exits (or times out, or the thread is
 * interrupted) every process it started is killed, background and double-forked ones included
 * (see {@link ProcessTree}), before the result is reported.
 *
 * <p>An input longer than {@value #ENV_INPUT_MAX_BYTES} bytes (UTF-8) or containing NUL does not
 * fit in an environment string: it is in a file named by {@code TASK_INPUT_FILE} instead of in
 * {@code TASK_INPUT} (see {@link TaskInput}).
 */
public final class CommandExecutor implements TaskExecutor {

    public static final int STDOUT_CAP_BYTES = 1024 * 1024;
    public static final int STDERR_TAIL_BYTES = 4 * 1024;
    /** Of those bytes, at most this many lines are kept in a failed result's error. */
    public static final int STDERR_TAIL_LINES = 20;
    public static final int ENV_INPUT_MAX_BYTES = TaskInput.ENV_MAX_BYTES;
    static final String TRUNCATION_MARKER = HeadBuffer.truncationMarker(STDOUT_CAP_BYTES);

    /** How long to wait for the output pipes to close once every process of the tree is dead (or exited). */
    static final Duration DRAIN_AFTER_KILL = Duration.ofSeconds(1);

    private static final Logger LOG = Logger.getLogger(CommandExecutor.class);

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
        try (TaskInput input = TaskInput.of(task.input(), task.id(), task.attempt())) {
            return run(task, ctx, budget, input);
        }
    }

    private Output run(TaskMessage task, TaskContext ctx, Duration budget, TaskInput input) throws Exception {
        ProcessTree tree = start(task, ctx, input);
        Process process = tree.process();
        HeadBuffer out = new HeadBuffer(STDOUT_CAP_BYTES);
        TailBuffer err = new TailBuffer(STDERR_TAIL_BYTES);
        Future<?> outDrain = null;
        Future<?> errDrain = null;
        boolean treeGone = false;
        try {
            outDrain = StreamPumps.start(() -> out.drain(process.getInputStream()));
            errDrain = StreamPumps.start(() -> err.drain(process.getErrorStream()));
            StreamPumps.feed(process.getOutputStream(), input.stdin());

            if (!process.waitFor(Math.max(0, ctx.deadlineNanos() - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                int killed = tree.kill();
                treeGone = true;
                StreamPumps.awaitQuietly(DRAIN_AFTER_KILL, outDrain, errDrain);
                throw new TaskFailure("timed out after " + describe(budget) + "; killed process tree of pid " + process.pid()
                        + " (" + killed + (killed == 1 ? " process)" : " processes)") + withStderr(err.text()));
            }
            int code = process.exitValue();
            // the task is its first process: what that one left running goes with it (and lets go of the pipes)
            int leftBehind = tree.kill();
            treeGone = true;
            if (leftBehind > 0) {
                LOG.infof("command pid %d exited with code %d and left %d %s running; killed %s", process.pid(), code, leftBehind,
                        leftBehind == 1 ? "process" : "processes", leftBehind == 1 ? "it" : "them");
            }
            // every process that could hold the pipes is dead now: what is left in them is read at once
            Duration drain = ctx.remaining().compareTo(DRAIN_AFTER_KILL) < 0 ? ctx.remaining() : DRAIN_AFTER_KILL;
            if (!StreamPumps.awaitAll(drain, outDrain, errDrain)) {
                throw new TaskFailure("pid " + process.pid() + " exited with code " + code + " but its stdout or stderr stayed"
                        + " open after its processes were killed: a process that left the task's session and environment"
                        + " still holds them" + withStderr(err.text()));
            }
            if (code != 0) {
                TaskFailure notStarted = tree.execFailure(argv.get(0), code, err.text());
                if (notStarted != null) throw notStarted;
                String tail = stderrTail(err.text());
                throw new TaskFailure(tail.isEmpty() ? "exit code " + code : "exit code " + code + ": " + tail);
            }
            return new Output(out.text(), stderr.keptOnSuccess(err, 0));
        } catch (InterruptedException e) {
            tree.kill();
            treeGone = true;
            StreamPumps.awaitQuietly(DRAIN_AFTER_KILL, outDrain, errDrain);
            throw e;
        } finally {
            if (!treeGone) tree.kill(); // whatever went wrong, nothing of the task outlives it
            stderr.forward(err, 0); // every outcome: a failure's stderr is as worth reading as a success's
        }
    }

    private ProcessTree start(TaskMessage task, TaskContext ctx, TaskInput input) throws TaskFailure {
        ProcessBuilder pb = new ProcessBuilder(argv);
        if (workDir != null) pb.directory(workDir.toFile());
        Map<String, String> env = pb.environment();
        env.putAll(extraEnv);
        input.addTo(env);
        env.put("TASK_ID", Long.toString(task.id()));
        env.put("TASK_ATTEMPT", Integer.toString(task.attempt()));
        env.put("TASK_BATCH", ctx.batch());
        return ProcessTree.start(pb);
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
