package io.taskbatch.cli;

import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.worker.TaskExecutors;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * N worker processes (child JVMs of our own jar) kept alive like a process pool: one that dies
 * before the batch is over is started again. The broker URI reaches them through the environment,
 * never the command line (which {@code ps} shows to everyone).
 */
final class WorkerProcesses implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WorkerProcesses.class);
    static final String ENV_JAR = "TASKBATCH_JAR";
    /** The pid of the {@code run} that started a worker: the worker stops when that process is gone. */
    static final String ENV_PARENT_PID = "TASKBATCH_PARENT_PID";
    /** The JVM flag that limits compiling to C1 ({@code 1}). */
    static final String TIERED_STOP = "-XX:TieredStopAtLevel=";

    private final List<String> command;
    private final BrokerAddress broker;
    private final ProcessBuilder.Redirect errors;
    // the live children and the stopping flag change together: a child that exits while we stop is not restarted
    private final ReentrantLock lock = new ReentrantLock();
    private final List<Process> children = new ArrayList<>();
    private boolean stopping;

    /**
     * Workers whose log goes to {@code log} (the bench's, so that it does not interleave with its table).
     *
     * @param graceSeconds how long a worker's running tasks may take to finish when it is told to stop
     */
    WorkerProcesses(Path manifest, int count, Integer slots, BrokerAddress broker, int graceSeconds, Path log) throws IOException {
        this(manifest, count, slots, broker, graceSeconds, null, false, ProcessBuilder.Redirect.appendTo(log.toFile()));
    }

    /**
     * @param shards                  the run's --shards, handed on (null: the manifest's)
     * @param optimizingCompiler whether the workers' tasks compute in their JVM ({@link
     *                                TaskExecutors#needsOptimizingCompiler}): else they run C1 alone
     */
    WorkerProcesses(Path manifest, int count, Integer slots, BrokerAddress broker, int graceSeconds, Integer shards,
                    boolean optimizingCompiler) throws IOException {
        this(manifest, count, slots, broker, graceSeconds, shards, optimizingCompiler, ProcessBuilder.Redirect.INHERIT);
    }

    private WorkerProcesses(Path manifest, int count, Integer slots, BrokerAddress broker, int graceSeconds, Integer shards,
                            boolean optimizingCompiler, ProcessBuilder.Redirect errors) throws IOException {
        this.broker = broker;
        this.errors = errors;
        this.command = List.copyOf(command(manifest, slots, graceSeconds, shards, optimizingCompiler));
        for (int i = 0; i < count; i++) spawn(i);
    }

    /** The command line of a worker process of {@code manifest}: our jar as this process runs, see the constructor. */
    static List<String> command(Path manifest, Integer slots, int graceSeconds, Integer shards, boolean optimizingCompiler)
            throws IOException {
        List<String> cmd = withCompiler(javaCommand(), optimizingCompiler);
        cmd.add("worker");
        cmd.add("--manifest");
        cmd.add(manifest.toAbsolutePath().toString());
        cmd.add("--grace");
        cmd.add(Integer.toString(graceSeconds));
        if (slots != null) {
            cmd.add("--slots");
            cmd.add(slots.toString());
        }
        if (shards != null) {
            cmd.add("--shards");
            cmd.add(shards.toString());
        }
        return cmd;
    }

    /**
     * {@code java} (first) and its options for a worker: C1 alone unless its tasks compute in its JVM. A worker that only
     * moves messages and children's output spends more CPU compiling with C2 than C2's code saves it in a batch of
     * ordinary size: on 2 cores, 100,000 echo tasks took the JVMs 22 s of CPU with C2 (12 s of it compiling), 12 s with C1.
     * This process's own choice is not inherited.
     */
    static List<String> withCompiler(List<String> javaCommand, boolean optimizingCompiler) {
        List<String> cmd = new ArrayList<>(javaCommand);
        cmd.removeIf(arg -> arg.startsWith(TIERED_STOP));
        if (!optimizingCompiler) cmd.add(1, TIERED_STOP + "1");
        return cmd;
    }

    /**
     * Our jar started as this process was: the same java and JVM options (the launcher's), agents left out; from the same
     * class path when this process was started from one (as bin/taskbatch starts it: the JVM maps an archive only with the
     * class path it was made with), else with {@code -jar}.
     */
    static List<String> javaCommand() throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")) cmd.add(arg);
        }
        if (System.getenv(ENV_JAR) == null && startedFromClassPath(System.getProperty("sun.java.command", ""))) {
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(QUARKUS_MAIN);
        } else {
            cmd.add("-jar");
            cmd.add(ownJar().toString());
        }
        return cmd;
    }

    /** Quarkus's main class, which bin/taskbatch starts from the build's class path instead of {@code -jar quarkus-run.jar}. */
    static final String QUARKUS_MAIN = "io.quarkus.runner.GeneratedMain";

    /** Whether the JVM's command ({@code sun.java.command}: its main class or jar, then the arguments) names Quarkus's main class. */
    static boolean startedFromClassPath(String javaCommand) {
        return javaCommand.equals(QUARKUS_MAIN) || javaCommand.startsWith(QUARKUS_MAIN + " ");
    }

    /** The jar we run from, or $TASKBATCH_JAR, or the build's. */
    static Path ownJar() throws IOException {
        String fromEnv = System.getenv(ENV_JAR);
        if (fromEnv != null) return Path.of(fromEnv);
        String classPath = System.getProperty("java.class.path", "");
        if (classPath.endsWith("quarkus-run.jar")) return Path.of(classPath);
        Path built = Path.of("target", "quarkus-app", "quarkus-run.jar");
        if (Files.exists(built)) return built.toAbsolutePath();
        throw new IOException("cannot find taskbatch's jar to start worker processes; set " + ENV_JAR);
    }

    private void spawn(int index) {
        lock.lock();
        try {
            if (stopping) return;
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().put(BrokerAddress.ENV_URI, broker.uriForChildren());
            pb.environment().put("TASKBATCH_WORKER_INDEX", Integer.toString(index));
            pb.environment().put(ENV_PARENT_PID, Long.toString(ProcessHandle.current().pid()));
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.redirectError(errors);
            Process p = pb.start();
            children.add(p);
            p.onExit().thenAccept(done -> exited(index, done));
            LOG.debugf("worker process %d started: pid %d", index, p.pid());
        } catch (IOException e) {
            LOG.errorf("cannot start worker process %d: %s", index, e.getMessage());
        } finally {
            lock.unlock();
        }
    }

    private void exited(int index, Process p) {
        boolean again;
        lock.lock();
        try {
            children.remove(p);
            again = !stopping && p.exitValue() != 0;
        } finally {
            lock.unlock();
        }
        if (again) {
            LOG.warnf("worker process %d (pid %d) died with exit code %d; starting another", index, p.pid(), p.exitValue());
            spawn(index);
        }
    }

    /** Waits for the workers to see the batch is over and exit; ends what is left after {@code wait}. */
    void finish(Duration wait) throws InterruptedException {
        List<Process> left = stopRestarting();
        long end = System.nanoTime() + wait.toNanos();
        for (Process p : left) {
            if (!p.waitFor(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                p.destroy();
                if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
    }

    /** From now on no worker is started again; the ones alive now. */
    private List<Process> stopRestarting() {
        lock.lock();
        try {
            stopping = true;
            return new ArrayList<>(children);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Tells every worker to stop (SIGTERM: it finishes its running tasks within its grace and gives back the rest)
     * and waits for them, {@code grace} and a little more; kills what is left.
     */
    void terminate(Duration grace) throws InterruptedException {
        List<Process> left = stopRestarting();
        left.forEach(Process::destroy);
        long end = System.nanoTime() + grace.plusSeconds(5).toNanos();
        for (Process p : left) {
            if (!p.waitFor(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) p.destroyForcibly();
        }
    }

    /**
     * In a worker that a {@code run} started: once that process is gone (SIGKILL, a crash), nobody collects the
     * batch, so the worker stops as on SIGTERM (running tasks finish within its grace, the rest go back) and exits.
     */
    static void exitWithParent(Logger log) {
        String pid = System.getenv(ENV_PARENT_PID);
        if (pid == null) return;
        Optional<ProcessHandle> parent;
        try {
            parent = ProcessHandle.of(Long.parseLong(pid.strip()));
        } catch (NumberFormatException e) {
            log.warnf("ignoring %s=%s: not a pid", ENV_PARENT_PID, pid);
            return;
        }
        Runnable gone = () -> {
            log.warnf("the run that started this worker (pid %s) is gone: stopping", pid);
            System.exit(ExitCodes.FAILED);
        };
        if (parent.isEmpty()) {
            Thread.ofPlatform().name("taskbatch-parent-gone").start(gone);
        } else {
            parent.get().onExit().thenRunAsync(gone, r -> Thread.ofPlatform().name("taskbatch-parent-gone").start(r));
        }
    }

    @Override
    public void close() throws InterruptedException {
        finish(Duration.ZERO);
    }
}
