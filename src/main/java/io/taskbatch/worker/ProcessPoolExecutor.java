package io.taskbatch.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbatch.queue.TaskMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * The {@code processPool} executor: long-lived children that each serve many tasks, one at a
 * time, over JSON Lines on stdin/stdout (see {@code docs/process-pool-protocol.md}).
 *
 * <p>Children start lazily, at most {@code maxChildren} at once; a calling thread checks one out
 * exclusively for one task. A child that dies, breaks the protocol or overruns the deadline is
 * discarded (its process tree killed) and a fresh one is started by the next checkout. After
 * {@code maxTasksPerProcess} tasks (0 or less: no limit) a child is retired: stdin closed, a second
 * to exit, then killed.
 */
public final class ProcessPoolExecutor implements TaskExecutor {

    public static final String PROTOCOL = "jsonl-1";
    public static final int STDERR_TAIL_BYTES = 4 * 1024;
    /** An answer line longer than this breaks the protocol (and would otherwise grow without bound). */
    public static final int MAX_ANSWER_BYTES = 8 * 1024 * 1024;
    /** How long a retired or closed child gets to exit on its own after stdin is closed. */
    static final Duration EXIT_GRACE = Duration.ofSeconds(1);
    /** How long to wait for the rest of a crashed child's stderr. */
    static final Duration STDERR_SETTLE = Duration.ofMillis(500);
    private static final int SHOWN_LINE_CHARS = 200;

    private static final Logger LOG = Logger.getLogger(ProcessPoolExecutor.class);

    private final List<String> argv;
    private final int maxChildren;
    private final int maxTasksPerProcess;
    private final Path workDir;
    private final Map<String, String> extraEnv;
    private final String batchName;
    private final TaskStderr stderr;
    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final AtomicLong started = new AtomicLong();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition childFreed = lock.newCondition();
    private final ArrayDeque<Child> idle = new ArrayDeque<>(); // guarded by lock
    private final Set<Child> live = new HashSet<>(); // guarded by lock: started and not yet stopped
    private int starting; // guarded by lock: slots reserved by threads that are starting a child
    private boolean closed; // guarded by lock

    /**
     * @param argv               program and arguments of a child, used as is
     * @param maxChildren        most children alive at once (at least 1)
     * @param maxTasksPerProcess tasks after which a child is replaced; 0 or less for no limit
     * @param workDir            the children's working directory; null inherits the worker's
     * @param extraEnv           added to the inherited environment; may be null
     * @param batchName          passed to children as {@code TASK_BATCH}
     */
    public ProcessPoolExecutor(List<String> argv, int maxChildren, int maxTasksPerProcess, Path workDir,
            Map<String, String> extraEnv, String batchName) {
        this(argv, maxChildren, maxTasksPerProcess, workDir, extraEnv, batchName, TaskStderr.NONE);
    }

    /** @param stderr what else becomes of a task's stderr (what the child wrote while it ran the task): kept on success, logged */
    public ProcessPoolExecutor(List<String> argv, int maxChildren, int maxTasksPerProcess, Path workDir,
            Map<String, String> extraEnv, String batchName, TaskStderr stderr) {
        this.stderr = stderr;
        if (argv == null || argv.isEmpty()) throw new IllegalArgumentException("process pool argv must not be empty");
        if (maxChildren < 1) throw new IllegalArgumentException("maxChildren must be >= 1, was " + maxChildren);
        this.argv = List.copyOf(argv);
        this.maxChildren = maxChildren;
        this.maxTasksPerProcess = maxTasksPerProcess;
        this.workDir = workDir;
        this.extraEnv = CommandExecutor.checkedEnv(extraEnv);
        this.batchName = Objects.requireNonNullElse(batchName, "");
    }

    @Override
    public boolean waitsMostly() {
        return true;
    }

    /** Children alive now (idle, busy or being retired). */
    public int liveChildren() {
        lock.lock();
        try {
            return live.size();
        } finally {
            lock.unlock();
        }
    }

    /** Children started since the pool was created. */
    public long childrenStarted() {
        return started.get();
    }

    @Override
    public String execute(TaskMessage task) throws Exception {
        return run(task).text();
    }

    @Override
    public Output run(TaskMessage task) throws Exception {
        TaskContext ctx = TaskContext.require();
        Duration budget = ctx.remaining();
        byte[] request = requestLine(task);
        Child child = checkout(ctx, budget);
        boolean healthy = false;
        long stderrMark = child.stderr.total(); // what the child writes to stderr from here on is this task's
        try {
            child.send(request);
            Line line = child.lines.poll(Math.max(0, ctx.deadlineNanos() - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                int killed = child.tree.kill();
                child.stderrReader.join(STDERR_SETTLE); // the pipe closes with the dead tree
                throw new TaskFailure("timed out after " + CommandExecutor.describe(budget) + "; killed process pool child pid "
                        + child.pid + " and its process tree (" + killed + (killed == 1 ? " process)" : " processes)")
                        + CommandExecutor.withStderr(child.stderr.textSince(stderrMark)));
            }
            if (line == Line.EOF) throw crashed(child);
            if (line == Line.TOO_LONG) throw brokeProtocol(child, "answer line longer than " + MAX_ANSWER_BYTES + " bytes");

            JsonNode answer = parse(line.text());
            if (answer == null || !answer.isObject()) {
                throw brokeProtocol(child, "expected one JSON object per line, got: " + shorten(line.text()));
            }
            JsonNode id = answer.get("id");
            if (id == null || !id.isIntegralNumber() || id.asLong() != task.id()) {
                throw brokeProtocol(child, "answered " + (id == null ? "without an id" : "id " + shorten(id.toString()))
                        + " to the request with id " + task.id());
            }
            JsonNode error = answer.get("error");
            JsonNode output = answer.get("output");
            if ((error == null || error.isNull()) && output == null) {
                throw brokeProtocol(child, "answer has neither output nor error: " + shorten(line.text()));
            }
            healthy = child.finishedWrite();
            if (!healthy) throw brokeProtocol(child, "answered before reading the whole request");
            child.served++;
            if (error != null && !error.isNull()) {
                String message = text(error);
                // what it wrote to stderr for this task, as far as it has reached us (its own pipe)
                throw new TaskFailure((message.isBlank() ? "process pool child pid " + child.pid + " reported an empty error" : message)
                        + CommandExecutor.withStderr(child.stderr.textSince(stderrMark)));
            }
            return new Output(text(output), stderr.keptOnSuccess(child.stderr, stderrMark));
        } finally {
            // only what it wrote between request and answer: its stderr is one pipe for all its tasks
            stderr.forward(child.stderr, stderrMark);
            if (healthy) giveBack(child);
            else discard(child);
        }
    }

    /** Stops every child: stdin closed, a short grace to exit, then the process tree killed. */
    @Override
    public void close() {
        List<Child> idleNow;
        List<Child> all;
        lock.lock();
        try {
            closed = true;
            idleNow = new ArrayList<>(idle);
            idle.clear();
            all = new ArrayList<>(live);
            childFreed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Child c : idleNow) c.closeStdin();
        long end = System.nanoTime() + EXIT_GRACE.toNanos();
        boolean interrupted = false;
        for (Child c : idleNow) {
            try {
                c.process.waitFor(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
                break;
            }
        }
        // busy children are killed too: their callers see the pool closed; retiring ones are simply finished off
        for (Child c : all) {
            c.tree.kill();
        }
        for (Child c : idleNow) forget(c);
        if (interrupted) Thread.currentThread().interrupt();
    }

    private Child checkout(TaskContext ctx, Duration budget) throws TaskFailure, InterruptedException {
        while (true) {
            Child candidate;
            lock.lockInterruptibly();
            try {
                while (true) {
                    if (closed) throw new TaskFailure("process pool is closed");
                    candidate = idle.pollFirst(); // the most recently used: its caches are warm
                    if (candidate != null) break;
                    if (live.size() + starting < maxChildren) {
                        starting++;
                        break;
                    }
                    long left = ctx.deadlineNanos() - System.nanoTime();
                    if (left <= 0) {
                        throw new TaskFailure("timed out after " + CommandExecutor.describe(budget)
                                + " waiting for a free process pool child (all " + maxChildren + " busy)");
                    }
                    childFreed.awaitNanos(left);
                }
            } finally {
                lock.unlock();
            }
            if (candidate == null) return startChild();
            if (candidate.process.isAlive() && candidate.lines.isEmpty()) return candidate;
            // it died or wrote something nobody asked for while idle: replace it, the task has not run
            LOG.infof("process pool child pid %d %s while idle; replacing it", candidate.pid,
                    candidate.process.isAlive() ? "wrote to or closed its stdout" : "exited with code " + candidate.process.exitValue());
            discard(candidate);
        }
    }

    /** Starts a child in a slot already reserved through {@code starting}. */
    private Child startChild() throws TaskFailure {
        Child child = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(argv);
            if (workDir != null) pb.directory(workDir.toFile());
            Map<String, String> env = pb.environment();
            env.putAll(extraEnv);
            env.put("TASKBATCH_PROTOCOL", PROTOCOL);
            env.put("TASK_BATCH", batchName);
            ProcessTree tree = ProcessTree.start(pb);
            try {
                child = new Child(tree);
            } finally {
                if (child == null) tree.kill();
            }
            started.incrementAndGet();
        } finally {
            lock.lock();
            try {
                starting--;
                if (child != null && !closed) live.add(child);
                else childFreed.signalAll();
            } finally {
                lock.unlock();
            }
        }
        if (child != null && !isLive(child)) {
            // close() ran while it was starting and could not see it
            child.closeStdin();
            child.tree.kill();
            throw new TaskFailure("process pool is closed");
        }
        return child;
    }

    private boolean isLive(Child child) {
        lock.lock();
        try {
            return live.contains(child);
        } finally {
            lock.unlock();
        }
    }

    private void giveBack(Child child) {
        if (maxTasksPerProcess > 0 && child.served >= maxTasksPerProcess) {
            // off the caller's thread: the task is done, only the child's exit is left to wait for
            Thread.ofPlatform().daemon().name("taskbatch-pool-retire-" + child.pid).start(() -> retire(child));
            return;
        }
        lock.lock();
        try {
            if (!closed) {
                idle.addFirst(child);
                childFreed.signalAll();
                return;
            }
        } finally {
            lock.unlock();
        }
        retire(child);
    }

    /** Lets a healthy child finish: EOF on stdin, {@link #EXIT_GRACE} to exit, then the tree is killed. */
    private void retire(Child child) {
        child.closeStdin();
        try {
            if (!child.process.waitFor(EXIT_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
                LOG.infof("process pool child pid %d did not exit within %s of its stdin closing; killing it",
                        child.pid, CommandExecutor.describe(EXIT_GRACE));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // also whatever it started and left behind
            child.tree.kill();
            forget(child);
        }
    }

    /** Kills a child that cannot be trusted with another task. */
    private void discard(Child child) {
        try {
            child.tree.kill(); // also when it has exited: what it started may still run
            child.closeStdin();
        } finally {
            forget(child);
        }
    }

    private void forget(Child child) {
        lock.lock();
        try {
            if (live.remove(child)) childFreed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private TaskFailure crashed(Child child) throws InterruptedException {
        String exit;
        if (child.process.waitFor(EXIT_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
            exit = "exited with code " + child.process.exitValue();
        } else {
            child.tree.kill();
            exit = "closed its stdout (killed)";
        }
        lock.lock();
        try {
            if (closed) return new TaskFailure("process pool was closed while the task was running on child pid " + child.pid);
        } finally {
            lock.unlock();
        }
        child.stderrReader.join(STDERR_SETTLE);
        if (child.served == 0 && !child.process.isAlive()) {
            TaskFailure notStarted = child.tree.execFailure(argv.get(0), child.process.exitValue(), child.stderr.text());
            if (notStarted != null) return notStarted;
        }
        // all of its stderr we still hold, not only this task's: why it died may have been said earlier
        String tail = CommandExecutor.stderrTail(child.stderr.text());
        return new TaskFailure("process pool child pid " + child.pid + " " + exit + " while running the task; stderr: "
                + (tail.isEmpty() ? "(empty)" : tail));
    }

    private TaskFailure brokeProtocol(Child child, String what) {
        child.tree.kill();
        return new TaskFailure("process pool child pid " + child.pid + " broke the protocol: " + what);
    }

    private byte[] requestLine(TaskMessage task) throws JsonProcessingException {
        // id first, always: minimal children find it with a regular expression
        ObjectNode request = json.createObjectNode();
        request.put("id", task.id());
        request.put("attempt", task.attempt());
        request.put("input", task.input());
        byte[] body = json.writeValueAsBytes(request);
        byte[] line = new byte[body.length + 1];
        System.arraycopy(body, 0, line, 0, body.length);
        line[body.length] = '\n';
        return line;
    }

    private JsonNode parse(String line) {
        try {
            return json.readTree(line);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String text(JsonNode node) {
        if (node.isTextual()) return node.textValue();
        if (node.isNull()) return "";
        return node.toString();
    }

    private static String shorten(String s) {
        return s.length() <= SHOWN_LINE_CHARS ? s : s.substring(0, SHOWN_LINE_CHARS) + "…";
    }

    /** One line read from a child's stdout, or the end of it. */
    private record Line(String text) {
        static final Line EOF = new Line(null);
        static final Line TOO_LONG = new Line(null);
    }

    /** A running child and the threads that read its stdout and stderr. */
    private static final class Child {
        final ProcessTree tree;
        final Process process;
        final long pid;
        final OutputStream stdin;
        final LinkedBlockingQueue<Line> lines = new LinkedBlockingQueue<>();
        final TailBuffer stderr = new TailBuffer(STDERR_TAIL_BYTES);
        final Thread stdoutReader;
        final Thread stderrReader;
        // touched only by the thread that has the child checked out (handed over through the pool's lock)
        int served;
        CompletableFuture<Void> pendingWrite;

        Child(ProcessTree tree) {
            this.tree = tree;
            Process process = tree.process();
            this.process = process;
            this.pid = process.pid();
            this.stdin = process.getOutputStream();
            this.stderrReader = Thread.ofPlatform().daemon().name("taskbatch-pool-stderr-" + pid)
                    .start(() -> stderr.drain(process.getErrorStream()));
            this.stdoutReader = Thread.ofPlatform().daemon().name("taskbatch-pool-stdout-" + pid)
                    .start(this::readLines);
        }

        /**
         * Writes a request. A failed write is not reported: the child is gone, and the EOF on its
         * stdout says so with its exit code. A request that might not fit in the pipe is written
         * from another thread, so that a child that stops reading cannot block us past the deadline.
         */
        void send(byte[] line) {
            if (line.length <= StreamPumps.PIPE_ATOMIC_BYTES) {
                write(line);
            } else {
                pendingWrite = CompletableFuture.runAsync(() -> write(line), StreamPumps.threads());
            }
        }

        private void write(byte[] line) {
            try {
                stdin.write(line);
                stdin.flush();
            } catch (IOException ignored) {
                // broken pipe: see send()
            }
        }

        /** Whether the last request was written out completely (a child answers only after reading all of it). */
        boolean finishedWrite() throws InterruptedException {
            if (pendingWrite == null) return true;
            try {
                pendingWrite.get(EXIT_GRACE.toNanos(), TimeUnit.NANOSECONDS);
                pendingWrite = null;
                return true;
            } catch (ExecutionException | TimeoutException e) {
                return false;
            }
        }

        void closeStdin() {
            CompletableFuture<Void> write = pendingWrite;
            if (write != null && !write.isDone()) {
                // closing would wait for the blocked write; it ends once the child is dead
                write.whenComplete((ok, e) -> closeQuietly(stdin));
            } else {
                closeQuietly(stdin);
            }
        }

        private static void closeQuietly(OutputStream out) {
            try {
                out.close();
            } catch (IOException ignored) {
                // broken pipe on the final flush: the child is gone, which is what we want
            }
        }

        private void readLines() {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            boolean skipping = false; // the current line is already reported as too long
            byte[] chunk = new byte[8192];
            try (InputStream in = process.getInputStream()) {
                int n;
                while ((n = in.read(chunk)) > 0) {
                    int from = 0;
                    for (int i = 0; i < n; i++) {
                        if (chunk[i] != '\n') continue;
                        if (!skipping) {
                            line.write(chunk, from, i - from);
                            lines.add(new Line(line.toString(StandardCharsets.UTF_8)));
                        }
                        line.reset();
                        skipping = false;
                        from = i + 1;
                    }
                    if (skipping || from == n) continue;
                    if (line.size() + (n - from) > MAX_ANSWER_BYTES) {
                        lines.add(Line.TOO_LONG);
                        line.reset();
                        skipping = true;
                    } else {
                        line.write(chunk, from, n - from);
                    }
                }
            } catch (IOException ignored) {
                // the stream was closed because the child is being killed
            } finally {
                lines.add(Line.EOF);
            }
        }
    }
}
