package io.taskbatch.worker;

import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
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
    static final String TRUNCATION_MARKER = "…[output truncated at " + STDOUT_CAP_BYTES + " bytes]";

    /** SIGTERM first, so that a child can clean up; SIGKILL after this. */
    static final Duration KILL_GRACE = Duration.ofMillis(500);
    /** How long to wait for the output pipes to close once every process of the tree is dead. */
    static final Duration DRAIN_AFTER_KILL = Duration.ofSeconds(1);
    /** A pipe holds at least one page: a write this small into an empty pipe never blocks. */
    static final int PIPE_ATOMIC_BYTES = 4096;

    /** The operating system's words in the JDK's messages: "error=2, No such file..." or "error: 2 (No such file...)". */
    private static final Pattern OS_ERROR = Pattern.compile("error[=:]\\s*\\d+,?\\s*\\(?([^)]+)\\)?\\s*$");
    private static final ExecutorService STREAM_THREADS = Executors.newCachedThreadPool(new NamedDaemonThreads("taskbatch-drain-"));

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
            outDrain = STREAM_THREADS.submit(TaskContext.wrap(() -> out.drain(process.getInputStream())));
            errDrain = STREAM_THREADS.submit(TaskContext.wrap(() -> err.drain(process.getErrorStream())));
            feed(process.getOutputStream(), stdin);

            if (!process.waitFor(Math.max(0, ctx.deadlineNanos() - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                int killed = killTree(process.toHandle());
                awaitQuietly(DRAIN_AFTER_KILL, outDrain, errDrain);
                throw new TaskFailure("timed out after " + describe(budget) + "; killed process tree of pid " + process.pid()
                        + " (" + killed + (killed == 1 ? " process)" : " processes)") + withStderr(err.text()));
            }
            // The child is gone, but a background process it started may still hold the pipes open.
            if (!awaitAll(ctx.remaining(), outDrain, errDrain)) {
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
            killTree(process.toHandle());
            awaitQuietly(DRAIN_AFTER_KILL, outDrain, errDrain);
            throw e;
        } finally {
            if (process.isAlive()) killTree(process.toHandle());
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

    /** Writes the input and closes stdin; from a pool thread when the write could block on a full pipe. */
    private static void feed(OutputStream stdin, byte[] bytes) {
        if (bytes.length <= PIPE_ATOMIC_BYTES) {
            writeAndClose(stdin, bytes);
        } else {
            STREAM_THREADS.execute(TaskContext.wrap(() -> writeAndClose(stdin, bytes)));
        }
    }

    private static void writeAndClose(OutputStream stdin, byte[] bytes) {
        try (stdin) {
            stdin.write(bytes);
        } catch (IOException ignored) {
            // broken pipe: the child exited or closed stdin without reading it all, which is its right
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

    /** The shared pool of daemon threads that pump child streams. */
    static ExecutorService streamThreads() {
        return STREAM_THREADS;
    }

    /**
     * Kills {@code root} and every process below it: SIGTERM, {@link #KILL_GRACE}, then SIGKILL for
     * whatever is still alive. Returns how many processes the tree had. Never throws; an interrupt
     * during the grace skips to SIGKILL and is kept on the thread.
     */
    static int killTree(ProcessHandle root) {
        return killTree(root, List.of());
    }

    /**
     * Like {@link #killTree(ProcessHandle)}, also killing {@code seenEarlier}: descendants found
     * before the root exited, which have been re-parented since and are no longer below it.
     */
    static int killTree(ProcessHandle root, List<ProcessHandle> seenEarlier) {
        // Snapshot before signalling anyone: once a parent dies its children are re-parented and no longer found.
        Set<ProcessHandle> tree = new LinkedHashSet<>();
        for (ProcessHandle h : seenEarlier) {
            if (running(h)) tree.add(h);
        }
        root.descendants().forEach(tree::add);
        tree.add(root);
        for (ProcessHandle h : tree) h.destroy();

        long graceEnd = System.nanoTime() + KILL_GRACE.toNanos();
        boolean interrupted = false;
        try {
            // the root is our child: its exit is signalled by the JDK reaper, no polling needed
            root.onExit().get(KILL_GRACE.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        } catch (ExecutionException | TimeoutException ignored) {
            // force below
        }
        // descendants are not our children, so the JDK could only poll them slowly; check briefly ourselves
        long pause = 1;
        while (!interrupted && anyAlive(tree) && System.nanoTime() - graceEnd < 0) {
            try {
                Thread.sleep(pause);
                pause = Math.min(pause * 2, 50);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (ProcessHandle h : tree) {
            if (running(h)) h.destroyForcibly();
        }
        try {
            root.onExit().get(KILL_GRACE.toNanos(), TimeUnit.NANOSECONDS); // SIGKILL is quick; have the root reaped
        } catch (InterruptedException e) {
            interrupted = true;
        } catch (ExecutionException | TimeoutException ignored) {
            // nothing more we can do
        }
        if (interrupted) Thread.currentThread().interrupt();
        return tree.size();
    }

    private static boolean anyAlive(Set<ProcessHandle> handles) {
        for (ProcessHandle h : handles) {
            if (running(h)) return true;
        }
        return false;
    }

    /**
     * Like {@link ProcessHandle#isAlive()}, but a zombie (dead, waiting for its parent to collect
     * its exit status) counts as dead: an orphan's new parent may take its time reaping it.
     */
    static boolean running(ProcessHandle h) {
        if (!h.isAlive()) return false;
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            int afterName = stat.lastIndexOf(')'); // the name in parentheses may itself contain spaces or ')'
            char state = afterName >= 0 && afterName + 2 < stat.length() ? stat.charAt(afterName + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return h.isAlive(); // no /proc here: trust the JDK
        }
    }

    /** Waits until every non-null future is done, at most {@code limit} in all; returns whether they all finished. */
    static boolean awaitAll(Duration limit, Future<?>... futures) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        for (Future<?> f : futures) {
            if (f == null) continue;
            try {
                f.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                return false;
            } catch (ExecutionException e) {
                // the pumps swallow IOExceptions; anything else means the stream is done for anyway
            }
        }
        return true;
    }

    /** {@link #awaitAll}, for clean-up paths: an interrupt ends the wait and stays set on the thread. */
    private static void awaitQuietly(Duration limit, Future<?>... futures) {
        try {
            awaitAll(limit, futures);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

    /** Keeps the first {@code cap} bytes of a stream and counts the rest. */
    static final class HeadBuffer {
        private final int cap;
        private byte[] buf = new byte[8192];
        private int len;
        private long total;

        HeadBuffer(int cap) {
            this.cap = cap;
        }

        /** Reads {@code in} to EOF (or an error) and closes it. */
        void drain(InputStream in) {
            byte[] chunk = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(chunk)) > 0) {
                    total += n;
                    int keep = Math.min(n, cap - len);
                    if (keep <= 0) continue; // keep reading so the child never blocks on a full pipe
                    if (len + keep > buf.length) buf = Arrays.copyOf(buf, Math.min(cap, Math.max(len + keep, buf.length * 2)));
                    System.arraycopy(chunk, 0, buf, len, keep);
                    len += keep;
                }
            } catch (IOException ignored) {
                // the stream was closed under us because the process was killed
            }
        }

        boolean truncated() {
            return total > len;
        }

        /** The text, without one trailing newline; with a marker when the stream was longer than the cap. */
        String text() {
            if (truncated()) {
                int end = len;
                // do not cut a UTF-8 character in half: drop its leading bytes too
                int back = 0;
                while (back < 3 && end - back > 0 && (buf[end - back - 1] & 0xC0) == 0x80) back++;
                if (back > 0 && end - back > 0 && (buf[end - back - 1] & 0xC0) == 0xC0) end = end - back - 1;
                return new String(buf, 0, end, StandardCharsets.UTF_8) + TRUNCATION_MARKER;
            }
            int end = len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
            return new String(buf, 0, end, StandardCharsets.UTF_8);
        }
    }

    /** Keeps the last {@code cap} bytes of a stream. Safe to read while another thread drains. */
    static final class TailBuffer {
        private final byte[] ring;
        private long total;

        TailBuffer(int cap) {
            this.ring = new byte[cap];
        }

        /** Reads {@code in} to EOF (or an error) and closes it. */
        void drain(InputStream in) {
            byte[] chunk = new byte[4096];
            try (in) {
                int n;
                while ((n = in.read(chunk)) > 0) append(chunk, n);
            } catch (IOException ignored) {
                // the stream was closed under us because the process was killed
            }
        }

        synchronized void append(byte[] bytes, int n) {
            int from = Math.max(0, n - ring.length); // only the last ring.length bytes can survive
            int pos = (int) ((total + from) % ring.length);
            int first = Math.min(n - from, ring.length - pos);
            System.arraycopy(bytes, from, ring, pos, first);
            System.arraycopy(bytes, from + first, ring, 0, n - from - first);
            total += n;
        }

        /** Bytes written so far: a mark for {@link #textSince}. */
        synchronized long total() {
            return total;
        }

        synchronized String text() {
            return textSince(0);
        }

        /** What was written after {@code mark} (a {@link #total()}), as far as the buffer still holds it. */
        synchronized String textSince(long mark) {
            int len = (int) Math.min(Math.max(0, total - mark), ring.length);
            int start = (int) ((total - len) % ring.length);
            byte[] out = new byte[len];
            int first = Math.min(len, ring.length - start);
            System.arraycopy(ring, start, out, 0, first);
            System.arraycopy(ring, 0, out, first, len - first);
            int skip = 0;
            // a cut tail may start in the middle of a UTF-8 character
            while (total > len && skip < Math.min(3, len) && (out[skip] & 0xC0) == 0x80) skip++;
            return new String(out, skip, len - skip, StandardCharsets.UTF_8);
        }
    }

    static final class NamedDaemonThreads implements ThreadFactory {
        private final String prefix;
        private final AtomicInteger next = new AtomicInteger(1);

        NamedDaemonThreads(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public Thread newThread(Runnable r) {
            return Thread.ofPlatform().daemon().name(prefix + next.getAndIncrement()).unstarted(r);
        }
    }
}
