package io.taskbatch.worker;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * A child process the worker starts (a {@code command} task's, a {@code processPool} child) and
 * every process that it starts in turn, however it detaches: {@link #kill()} leaves none running.
 *
 * <p>Following parent links ({@link ProcessHandle#descendants()}) is not enough: a process whose
 * parent exits is re-parented to init (a double fork, a background job of a shell that exited),
 * and from then on nothing links it to the task. So membership is marked in two ways that
 * survive re-parenting and that a process cannot lose by accident:
 * <ul>
 *   <li><b>a session of its own</b>: the child is started through {@code setsid(1)} (which calls
 *       setsid() and execs the program in place, keeping its pid), so the child and everything it
 *       forks are in the session whose id is the child's pid ({@code /proc/PID/stat}, field 6).
 *       Linux never reuses a pid while it still names a session, and a process can leave its
 *       session only by calling setsid() itself;</li>
 *   <li><b>a tag in the environment</b>: {@value #TAG_VARIABLE}, unique per child (appended,
 *       comma-separated, to one the worker itself was started with), inherited
 *       through fork and exec ({@code /proc/PID/environ}). It survives setsid(); a process loses it
 *       only by exec'ing with a cleared or rewritten environment.</li>
 * </ul>
 * A kill finds the members in one pass over {@code /proc}: the child, every process in its
 * session or with its tag, and every process below one of those by parent links (which catches
 * a child of a member that both left the session and dropped the tag, while its parent lives).
 * Asking for {@link ProcessHandle#descendants()} first and scanning later would be racy (a parent
 * exiting in between re-parents its children); marks read from one snapshot are not. It sends SIGTERM, waits {@link #KILL_GRACE}, then sends SIGKILL to whatever is left and to
 * whatever was forked meanwhile, scanning again until a scan finds none. What cannot be found this
 * way is a process that left the session (setsid) <em>and</em> dropped the tag (exec with a new
 * environment) <em>and</em> whose parent chain to the child is broken: only a child subreaper or a
 * cgroup per task would hold on to it (see the README).
 *
 * <p>A process that switched to another user (sudo, su) cannot be signalled. Without {@code /proc}
 * (not Linux) only the descendants of a live child are found; without a {@code setsid} program,
 * the tag and the parent links.
 */
final class ProcessTree {
    /** The environment variable that marks every process of one tree. */
    static final String TAG_VARIABLE = "TASKBATCH_PROCESS_TREE";
    /** SIGTERM first, so that a child can clean up; SIGKILL after this. */
    static final Duration KILL_GRACE = Duration.ofMillis(500);
    /** How long SIGKILL rounds go on when processes keep being forked while they are killed. */
    static final Duration KILL_ROUNDS = Duration.ofSeconds(2);

    private static final Logger LOG = Logger.getLogger(ProcessTree.class);
    private static final Path PROC = Path.of("/proc");
    private static final boolean HAS_PROC = Files.isReadable(PROC.resolve("self/stat"));
    /** setsid(1), or null when there is none: then children share the worker's session. */
    static final String SETSID = HAS_PROC ? findSetsid() : null;
    /** The operating system's words in the JDK's messages: "error=2, No such file..." or "error: 2 (No such file...)". */
    private static final Pattern OS_ERROR = Pattern.compile("error[=:]\\s*\\d+,?\\s*\\(?([^)]+)\\)?\\s*$");
    private static final String TAG_PREFIX = ProcessHandle.current().pid() + "-"
            + Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-";
    private static final AtomicLong NEXT_TAG = new AtomicLong();

    private final Process process;
    private final String tag;
    private final boolean ownSession;
    /** The child's start in clock ticks since boot (/proc/PID/stat field 22): nothing older is a member. 0 = unknown. */
    private final long startTicks;

    private ProcessTree(Process process, String tag, boolean ownSession) {
        this.process = process;
        this.tag = tag;
        this.ownSession = ownSession;
        Stat stat = Stat.read(process.pid());
        this.startTicks = stat == null ? 0 : stat.startTicks;
    }

    /**
     * Starts {@code pb}'s command as the root of a new tree: in a session of its own and tagged.
     * Every reason the program cannot start (no such program, not executable, no working
     * directory) is a permanent failure, reported as {@code cannot start ARGV0: REASON}.
     */
    static ProcessTree start(ProcessBuilder pb) throws TaskFailure {
        List<String> argv = List.copyOf(pb.command());
        String program = argv.get(0);
        Path workDir = pb.directory() == null ? null : pb.directory().toPath();
        if (workDir != null && !Files.isDirectory(workDir)) {
            throw TaskFailure.permanent("cannot start " + program + ": working directory " + workDir + " does not exist");
        }
        String tag = TAG_PREFIX + NEXT_TAG.incrementAndGet();
        // a task of a worker that itself runs as a task (taskbatch inside a command) carries both tags
        pb.environment().merge(TAG_VARIABLE, tag, (outer, own) -> outer + "," + own);
        boolean ownSession = SETSID != null;
        if (ownSession) {
            // setsid(1) reports a program it cannot exec only on stderr: find it here, as the JDK would
            List<String> wrapped = new ArrayList<>(argv.size() + 2);
            wrapped.add(SETSID);
            wrapped.add(resolve(program, workDir)); // a path with a slash, never taken for an option of setsid
            wrapped.addAll(argv.subList(1, argv.size()));
            pb.command(wrapped);
        }
        try {
            return new ProcessTree(pb.start(), tag, ownSession);
        } catch (IOException e) {
            throw TaskFailure.permanent("cannot start " + program + ": " + startFailureReason(e));
        } finally {
            pb.command(argv);
        }
    }

    Process process() {
        return process;
    }

    /**
     * The processes of this tree that run now (the child itself too, until it exits): every process
     * in its session or carrying its tag, and every process below one of those. Never the worker
     * or its ancestors.
     */
    Set<ProcessHandle> members() {
        Set<ProcessHandle> found = new LinkedHashSet<>();
        ProcessHandle root = process.toHandle();
        if (HAS_PROC) {
            scanProc(found);
        } else if (root.isAlive()) {
            found.add(root);
            root.descendants().forEach(found::add);
        }
        Set<Long> never = workerAndAncestors();
        found.removeIf(h -> never.contains(h.pid()));
        return found;
    }

    /** One pass over /proc: members by session or tag, then everything below the root or below a member by parent links. */
    private void scanProc(Set<ProcessHandle> found) {
        long rootPid = process.pid();
        Map<Long, Stat> recent = new HashMap<>();
        Set<Long> members = new LinkedHashSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC)) {
            for (Path entry : entries) {
                long pid = pidOf(entry.getFileName().toString());
                if (pid <= 0) continue;
                Stat stat = Stat.read(pid);
                // nothing that started before the root can be part of its tree
                if (stat == null || !stat.running() || stat.startTicks < startTicks) continue;
                recent.put(pid, stat);
                if (pid == rootPid || ownSession && stat.session == rootPid || hasTag(pid)) members.add(pid);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debugf(e, "cannot scan /proc for the processes of pid %d", rootPid);
        }
        Map<Long, List<Long>> children = new HashMap<>();
        recent.forEach((pid, stat) -> children.computeIfAbsent(stat.parent, p -> new ArrayList<>()).add(pid));
        ArrayDeque<Long> below = new ArrayDeque<>(members);
        while (!below.isEmpty()) {
            for (long child : children.getOrDefault(below.poll(), List.of())) {
                if (members.add(child)) below.add(child);
            }
        }
        for (long pid : members) {
            if (pid == rootPid) {
                found.add(process.toHandle());
                continue;
            }
            // a handle knows its process's start time, so a later signal cannot hit a new process under a reused pid;
            // reading the start time again makes sure the handle is of the process just checked
            Optional<ProcessHandle> handle = ProcessHandle.of(pid);
            Stat again = Stat.read(pid);
            if (handle.isPresent() && again != null && again.startTicks == recent.get(pid).startTicks) found.add(handle.get());
        }
    }

    private boolean hasTag(long pid) {
        byte[] env = environ(pid, ProcessTree::readEnviron);
        if (env == null) return false; // gone, or another user's: not ours either way
        // NUL-terminated NAME=VALUE entries; ours is one comma-separated element of the value
        byte[] prefix = (TAG_VARIABLE + "=").getBytes(StandardCharsets.UTF_8);
        for (int at = 0; at < env.length; ) {
            int end = at;
            while (end < env.length && env[end] != 0) end++;
            if (Arrays.equals(env, at, Math.min(at + prefix.length, end), prefix, 0, prefix.length)) {
                String value = new String(env, at + prefix.length, end - at - prefix.length, StandardCharsets.UTF_8);
                return List.of(value.split(",")).contains(tag);
            }
            at = end + 1;
        }
        return false;
    }

    /** Reads of an empty environment before it is taken for the process's own. */
    static final int EMPTY_ENVIRON_READS = 5;

    /**
     * A process's environment as {@code read} gives it (null: gone or not ours). A process in the middle of an exec shows
     * an empty one for a moment (the kernel has not set up the new image's yet): a double-forked {@code setsid sleep}
     * caught there by the only scan after its task ended escaped the kill (seen once in CI). So an empty read is tried
     * again, a millisecond apart; a process that really has no environment costs a few milliseconds per scan.
     */
    static byte[] environ(long pid, LongFunction<byte[]> read) {
        byte[] env = read.apply(pid);
        for (int i = 1; env != null && env.length == 0 && i < EMPTY_ENVIRON_READS; i++) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            env = read.apply(pid);
        }
        return env;
    }

    private static byte[] readEnviron(long pid) {
        try {
            return Files.readAllBytes(PROC.resolve(pid + "/environ"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Kills every process of the tree: SIGTERM, up to {@link #KILL_GRACE} for them to exit, then
     * SIGKILL for the rest and for whatever they forked meanwhile, until a fresh scan finds none
     * (for at most {@link #KILL_ROUNDS}). The child itself is reaped. Returns how many processes
     * were signalled. Never throws; an interrupt skips the grace and stays set on the thread.
     */
    int kill() {
        Set<ProcessHandle> signalled = members();
        if (signalled.isEmpty()) return 0; // members fork members: none now, none later
        for (ProcessHandle h : signalled) h.destroy();
        boolean interrupted = !awaitGone(signalled, KILL_GRACE);
        long end = System.nanoTime() + KILL_ROUNDS.toNanos();
        while (true) {
            Set<ProcessHandle> left = new LinkedHashSet<>();
            for (ProcessHandle h : signalled) {
                if (running(h)) left.add(h);
            }
            for (ProcessHandle h : members()) {
                if (running(h)) left.add(h);
            }
            if (left.isEmpty()) break;
            if (System.nanoTime() - end > 0) {
                LOG.warnf("%d processes of pid %d's tree are still running after SIGKILL: %s", left.size(), process.pid(), left);
                break;
            }
            for (ProcessHandle h : left) h.destroyForcibly();
            signalled.addAll(left);
            if (!awaitGone(left, Duration.ofMillis(100))) interrupted = true;
        }
        try {
            process.waitFor(KILL_GRACE.toNanos(), TimeUnit.NANOSECONDS); // have the child reaped
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) Thread.currentThread().interrupt();
        return signalled.size();
    }

    /** Polls until none of {@code handles} runs or {@code limit} passes; false when interrupted (the flag is cleared). */
    private static boolean awaitGone(Set<ProcessHandle> handles, Duration limit) {
        long end = System.nanoTime() + limit.toNanos();
        long pause = 1;
        while (anyRunning(handles) && System.nanoTime() - end < 0) {
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                return false;
            }
            pause = Math.min(pause * 2, 50);
        }
        return true;
    }

    private static boolean anyRunning(Set<ProcessHandle> handles) {
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
        if (!HAS_PROC) return true;
        Stat stat = Stat.read(h.pid());
        return stat != null && stat.running();
    }

    private static Set<Long> workerAndAncestors() {
        Set<Long> pids = new HashSet<>();
        for (Optional<ProcessHandle> h = Optional.of(ProcessHandle.current()); h.isPresent(); h = h.get().parent()) {
            if (!pids.add(h.get().pid())) break;
        }
        return pids;
    }

    private static long pidOf(String name) {
        if (name.isEmpty() || name.length() > 10) return -1;
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') return -1;
        }
        return Long.parseLong(name);
    }

    /**
     * Where {@code program} is, found the way the JDK finds it (in the worker's {@code PATH}; a
     * name with a slash as is, against the working directory): setsid(1) then execs that path.
     */
    static String resolve(String program, Path workDir) throws TaskFailure {
        Path base = workDir != null ? workDir : Path.of("").toAbsolutePath();
        if (program.indexOf('/') >= 0) {
            check(program, base.resolve(program));
            return program.startsWith("-") ? "./" + program : program;
        }
        String path = System.getenv("PATH");
        boolean denied = false;
        for (String dir : (path == null ? ":/bin:/usr/bin" : path).split(":", -1)) {
            Path candidate = base.resolve(dir.isEmpty() ? "." : dir).resolve(program);
            if (!Files.isRegularFile(candidate)) continue;
            if (Files.isExecutable(candidate)) return candidate.toAbsolutePath().toString();
            denied = true;
        }
        throw TaskFailure.permanent("cannot start " + program + ": " + (denied ? "Permission denied" : "No such file or directory"));
    }

    /**
     * The permanent failure to report when the child's exit says that setsid(1) could not exec the
     * program after all (a script whose interpreter is missing, say: setsid prints "setsid: failed
     * to execute PROGRAM: REASON" and exits 126 or 127), or null for any other exit.
     */
    TaskFailure execFailure(String program, int exitCode, String stderr) {
        if (!ownSession || exitCode != 126 && exitCode != 127) return null;
        String text = stderr.strip();
        if (!text.startsWith("setsid: failed to execute ") || text.indexOf('\n') >= 0) return null;
        int reason = text.lastIndexOf(": ");
        return TaskFailure.permanent("cannot start " + program + ": " + text.substring(reason + 2));
    }

    private static void check(String program, Path file) throws TaskFailure {
        if (!Files.exists(file)) throw TaskFailure.permanent("cannot start " + program + ": No such file or directory");
        if (!Files.isRegularFile(file) || !Files.isExecutable(file)) {
            throw TaskFailure.permanent("cannot start " + program + ": Permission denied");
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

    private static String findSetsid() {
        List<String> dirs = new ArrayList<>(List.of("/usr/bin", "/bin"));
        String path = System.getenv("PATH");
        if (path != null) dirs.addAll(List.of(path.split(File.pathSeparator)));
        for (String dir : dirs) {
            if (dir.isEmpty()) continue;
            Path candidate = Path.of(dir, "setsid");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) return candidate.toString();
        }
        LOG.warn("no setsid program found (util-linux or busybox): processes that command and processPool tasks leave"
                + " behind are found by their environment and their parent only");
        return null;
    }

    /** The fields of {@code /proc/PID/stat} that we use. */
    record Stat(char state, long parent, long session, long startTicks) {

        boolean running() {
            return state != 'Z' && state != 'X';
        }

        /** The process's stat, or null when it is gone (or unreadable). */
        static Stat read(long pid) {
            byte[] b;
            try {
                b = Files.readAllBytes(PROC.resolve(pid + "/stat"));
            } catch (IOException | RuntimeException e) {
                return null;
            }
            // "pid (comm) state ppid pgrp session ... starttime": comm may contain spaces and ')', so count from the last ')'
            int at = b.length - 1;
            while (at >= 0 && b[at] != ')') at--;
            if (at < 0 || at + 2 >= b.length) return null;
            at += 2;
            char state = (char) b[at];
            long[] fields = new long[23]; // fields[n] is field n (1-based, as in proc(5))
            int field = 3;
            for (int i = at + 1; i < b.length; i++) {
                if (b[i] == ' ') {
                    if (++field > 22) break;
                } else if (b[i] >= '0' && b[i] <= '9') {
                    fields[field] = fields[field] * 10 + (b[i] - '0');
                }
            }
            if (field < 22) return null;
            return new Stat(state, fields[4], fields[6], fields[22]);
        }
    }
}
