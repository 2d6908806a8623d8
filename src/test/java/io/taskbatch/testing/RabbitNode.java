package io.taskbatch.testing;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A private RabbitMQ node (a real broker process) for tests.
 *
 * <p>Each node gets its own directory under {@code java.io.tmpdir} ({@code taskbatch-rabbit-*}) holding
 * a HOME with a random Erlang cookie, its config files, mnesia (data), logs and pid file; a unique node
 * name {@code tb-<random>@localhost}; and free ports for AMQP, Erlang distribution and its own epmd. The
 * system RabbitMQ (5672) and the shared epmd (4369) are never touched.
 *
 * <p>The broker is {@code /usr/lib/rabbitmq/bin/rabbitmq-server} run directly (the {@code /usr/sbin}
 * wrappers switch to the rabbitmq user and its cookie), in its own session. Its log goes to stdout
 * ({@code RABBITMQ_LOGS=-}), which is appended to {@link #logFile()}.
 *
 * <p>The node's epmd is started by this class (in the foreground, as a child of the JVM) before the
 * broker, so that it is this JVM's child and can be stopped for sure; the broker finds it on
 * {@code ERL_EPMD_PORT} and does not daemonize one of its own.
 *
 * <p>Life cycle: {@link #start()} → ({@link #stop()} | {@link #kill()}) → {@link #startAgain()} … →
 * {@link #close()}. Data and ports survive stop/kill/startAgain; close deletes everything. A JVM shutdown
 * hook kills the node if the JVM exits without close(), and {@code start()} reaps the leftovers of nodes
 * whose JVM died without running its hooks (SIGKILL).
 */
public final class RabbitNode implements AutoCloseable {

    /** Where Debian's rabbitmq-server package puts the scripts that must be run directly. */
    public static final Path DEFAULT_INSTALL_DIR = Path.of("/usr/lib/rabbitmq/bin");

    /** The command that installs the broker; quoted in the failure when it is missing. */
    public static final String INSTALL_COMMAND = "apt-get install -y rabbitmq-server";

    static final String DIR_PREFIX = "taskbatch-rabbit-";
    private static final Duration CTL_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final int LOG_TAIL_LINES = 60;
    /** Ports never handed out: the system node's dist port and rabbitmqctl's default dist range. */
    private static final int[][] AVOIDED_PORT_RANGES = {{4369, 4369}, {5672, 5672}, {25672, 25672}, {35672, 35682}};
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int START_ATTEMPTS = 3;

    private enum State { STOPPED, RUNNING, CLOSED }

    private final Path dir;
    private final Path installDir;
    private final String nodeName;
    private final int amqpPort;
    private final int distPort;
    private final int epmdPort;
    private final Duration startTimeout;
    private final Map<String, String> env;
    private final Path pidFile;
    private final Path logFile;
    private final Thread shutdownHook;

    private volatile State state = State.STOPPED;
    private volatile Process server; // setsid'd /bin/sh rabbitmq-server (beam.smp is its child)
    private volatile Process epmd;
    private volatile long lastStartMillis;

    // ------------------------------------------------------------------ creation

    /** Starts a fresh node under {@code java.io.tmpdir} with the default settings. */
    public static RabbitNode start() {
        return builder().start();
    }

    /** Starts a fresh node whose private directory is created under {@code baseDir}. */
    public static RabbitNode start(Path baseDir) {
        return builder().baseDir(baseDir).start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for a node; {@link #start()} creates and starts it. A builder can start several nodes. */
    public static final class Builder {
        private Path baseDir;
        private Path installDir = DEFAULT_INSTALL_DIR;
        private Duration consumerTimeout;
        private Duration startTimeout = Duration.ofSeconds(60);
        private final Map<String, String> config = new LinkedHashMap<>();
        private String enabledPlugins = "[].";
        private String cookie;
        private int epmdPort;

        private Builder() {
        }

        /**
         * Nodes of one cluster ({@link RabbitCluster}): the same Erlang cookie, and one epmd on {@code epmdPort} through
         * which they find each other (the first node to start runs it; later ones find it listening).
         */
        Builder clusterMember(String cookie, int epmdPort) {
            this.cookie = cookie;
            this.epmdPort = epmdPort;
            return this;
        }

        /**
         * The node's {@code enabled_plugins} file, e.g. {@code [rabbitmq_prometheus].} (default {@code [].}: none).
         * Plugins bring their own listeners: give them ports with {@link #config}, e.g. {@code prometheus.tcp.port}.
         */
        public Builder enabledPlugins(String erlangTerm) {
            this.enabledPlugins = erlangTerm.strip();
            return this;
        }

        /** Parent of the node's private directory (default: {@code java.io.tmpdir}). */
        public Builder baseDir(Path baseDir) {
            this.baseDir = baseDir;
            return this;
        }

        /** Directory holding {@code rabbitmq-server} and {@code rabbitmqctl} (default /usr/lib/rabbitmq/bin). */
        public Builder installDir(Path installDir) {
            this.installDir = installDir;
            return this;
        }

        /** Broker-wide {@code consumer_timeout} (left at the broker's default, 30 min, unless set). */
        public Builder consumerTimeout(Duration timeout) {
            this.consumerTimeout = timeout;
            return this;
        }

        /** Any other {@code rabbitmq.conf} setting, written as {@code key = value}. */
        public Builder config(String key, String value) {
            config.put(key, value);
            return this;
        }

        /** How long start-up may take before it fails (default 60 s). */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }

        public RabbitNode start() {
            checkInstalled(installDir);
            Path base = baseDir != null ? baseDir : Path.of(System.getProperty("java.io.tmpdir"));
            reapOrphans(base);
            RuntimeException last = null;
            for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
                RabbitNode node = new RabbitNode(this, base);
                try {
                    node.launch();
                    return node;
                } catch (PortConflict e) {
                    // another process took one of the ports between picking and binding it: try new ones
                    last = e;
                    node.closeQuietly(e);
                } catch (RuntimeException | Error e) {
                    node.closeQuietly(e);
                    throw e;
                }
            }
            throw last;
        }

        private String rabbitmqConf(int amqpPort) {
            StringBuilder conf = new StringBuilder()
                    .append("loopback_users = none\n")
                    .append("listeners.tcp.default = 127.0.0.1:").append(amqpPort).append('\n');
            if (consumerTimeout != null) {
                conf.append("consumer_timeout = ").append(consumerTimeout.toMillis()).append('\n');
            }
            config.forEach((k, v) -> conf.append(k).append(" = ").append(v).append('\n'));
            return conf.toString();
        }
    }

    private RabbitNode(Builder options, Path base) {
        this.installDir = options.installDir;
        this.startTimeout = options.startTimeout;
        Path created = null;
        try {
            Files.createDirectories(base);
            created = Files.createTempDirectory(base, DIR_PREFIX).toRealPath();
            this.dir = created;
            Files.writeString(dir.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
            Path home = Files.createDirectories(dir.resolve("home"));
            Path cookie = home.resolve(".erlang.cookie");
            Files.writeString(cookie, options.cookie != null ? options.cookie : randomString(32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
            Files.setPosixFilePermissions(cookie, PosixFilePermissions.fromString("r--------"));
            Path logs = Files.createDirectories(dir.resolve("log"));
            Path mnesia = Files.createDirectories(dir.resolve("mnesia"));
            this.nodeName = "tb-" + randomString(10, "abcdefghijklmnopqrstuvwxyz0123456789") + "@localhost";
            int[] ports = freePorts(3);
            this.amqpPort = ports[0];
            this.distPort = ports[1];
            this.epmdPort = options.epmdPort > 0 ? options.epmdPort : ports[2];
            this.pidFile = dir.resolve("rabbitmq.pid");
            this.logFile = logs.resolve("rabbit.out");
            Path confEnv = Files.writeString(dir.resolve("rabbitmq-env.conf"), "");
            Path conf = Files.writeString(dir.resolve("rabbitmq.conf"), options.rabbitmqConf(amqpPort));
            Path advanced = Files.writeString(dir.resolve("advanced.config"), "[].\n");
            Path plugins = Files.writeString(dir.resolve("enabled_plugins"), options.enabledPlugins + "\n");

            Map<String, String> e = new HashMap<>(System.getenv());
            e.keySet().removeIf(k -> k.startsWith("RABBITMQ_") || k.startsWith("ERL_")
                    || k.equals("CONF_ENV_FILE") || k.equals("NOTIFY_SOCKET") || k.startsWith("LC_"));
            e.put("HOME", home.toString());
            e.put("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" + Optional.ofNullable(System.getenv("PATH"))
                    .map(p -> ":" + p).orElse(""));
            e.put("LANG", "C.UTF-8");
            e.put("LC_ALL", "C.UTF-8");
            e.put("RABBITMQ_NODENAME", nodeName);
            e.put("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
            e.put("RABBITMQ_NODE_PORT", Integer.toString(amqpPort));
            e.put("RABBITMQ_DIST_PORT", Integer.toString(distPort));
            e.put("ERL_EPMD_PORT", Integer.toString(epmdPort));
            e.put("ERL_EPMD_ADDRESS", "127.0.0.1");
            e.put("RABBITMQ_CONF_ENV_FILE", confEnv.toString());
            e.put("RABBITMQ_CONFIG_FILE", conf.toString());
            e.put("RABBITMQ_ADVANCED_CONFIG_FILE", advanced.toString());
            e.put("RABBITMQ_ENABLED_PLUGINS_FILE", plugins.toString());
            e.put("RABBITMQ_MNESIA_BASE", mnesia.toString());
            e.put("RABBITMQ_LOG_BASE", logs.toString());
            e.put("RABBITMQ_PID_FILE", pidFile.toString());
            e.put("RABBITMQ_LOGS", "-");
            e.put("ERL_CRASH_DUMP", logs.resolve("erl_crash.dump").toString());
            // distribution only on loopback; the extra flag is ignored by Erlang and names the node in `ps`
            e.put("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                    "-kernel inet_dist_use_interface {127,0,0,1} -taskbatch_node " + nodeName);
            // rabbitmqctl's own distribution listener: any free port, not the shared 35672-35682 range
            e.put("RABBITMQ_CTL_DIST_PORT_MIN", "0");
            e.put("RABBITMQ_CTL_DIST_PORT_MAX", "0");
            this.env = Map.copyOf(e);
        } catch (IOException | RuntimeException e) {
            if (created != null) {
                try {
                    deleteRecursively(created);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot prepare a private RabbitMQ directory under " + base, io);
            }
            throw (RuntimeException) e;
        }
        this.shutdownHook = new Thread(this::emergencyKill, "rabbit-node-reaper-" + nodeName);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    // ------------------------------------------------------------------ accessors

    /**
     * {@code amqp://guest:guest@127.0.0.1:<port>/%2F}: the default virtual host "/", spelled out. (With a bare
     * trailing "/" the Java client's {@code ConnectionFactory.setUri} selects the virtual host "" and the broker
     * refuses the connection.)
     */
    public String amqpUri() {
        return "amqp://guest:guest@127.0.0.1:" + amqpPort + "/%2F";
    }

    public int port() {
        return amqpPort;
    }

    public String nodeName() {
        return nodeName;
    }

    public int distPort() {
        return distPort;
    }

    public int epmdPort() {
        return epmdPort;
    }

    /** The node's private directory (deleted by {@link #close()}). */
    public Path dir() {
        return dir;
    }

    /** The broker's log (its stdout and stderr, appended across restarts). */
    public Path logFile() {
        return logFile;
    }

    public boolean isRunning() {
        Process sh = server;
        return state == State.RUNNING && sh != null && sh.isAlive();
    }

    /** The last lines of the broker's log. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (NoSuchFileException e) {
            return "(no log yet: " + logFile + ")";
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    @Override
    public String toString() {
        return "RabbitNode[" + nodeName + ", amqp 127.0.0.1:" + amqpPort + ", " + state.name().toLowerCase(Locale.ROOT)
                + ", " + dir + "]";
    }

    // ------------------------------------------------------------------ life cycle

    /**
     * Stops the node gracefully ({@code rabbitmqctl stop PIDFILE}, which waits for the VM to exit); the AMQP
     * port is closed when this returns. Data stays for {@link #startAgain()}. No-op if not running.
     */
    public synchronized void stop() {
        checkNotClosed();
        if (state != State.RUNNING) return;
        Process sh = server;
        if (sh != null && sh.isAlive()) {
            try {
                // returns when the VM has exited; if the VM dies some other way meanwhile, stop waiting for it
                CtlResult r = runCtl(STOP_TIMEOUT, () -> !sh.isAlive(), "stop", pidFile.toString());
                if (r.exitCode() != 0 && sh.isAlive()) {
                    throw new IllegalStateException("rabbitmqctl stop exited with " + r.exitCode() + ": " + r.stderr());
                }
            } catch (RuntimeException e) {
                // it could not be stopped gracefully (or died meanwhile): make sure it is gone
                killTree(sh);
            }
            if (!waitFor(sh, STOP_TIMEOUT)) {
                killTree(sh);
            }
        }
        server = null;
        state = State.STOPPED;
        awaitPortClosed(amqpPort, Duration.ofSeconds(10));
    }

    /**
     * Starts the stopped (or killed) node again with the same data directory, name and ports: durable
     * queues and persistent messages survive. Returns when the broker has booted.
     */
    public synchronized void startAgain() {
        checkNotClosed();
        if (state == State.RUNNING) {
            if (server != null && server.isAlive()) {
                throw new IllegalStateException(nodeName + " is running: stop() or kill() it first");
            }
            state = State.STOPPED; // the broker died on its own
        }
        try {
            launch();
        } catch (PortConflict e) {
            throw new IllegalStateException("cannot start " + nodeName + " again: " + e.getMessage(), e);
        }
    }

    /** {@link #stop()} then {@link #startAgain()}. */
    public synchronized void restart() {
        stop();
        startAgain();
    }

    /**
     * SIGKILLs the broker (beam.smp and its helper processes): a crash, for tests. The node can be started
     * again with {@link #startAgain()}. No-op if not running.
     */
    public synchronized void kill() {
        checkNotClosed();
        Process sh = server;
        if (sh != null) {
            killTree(sh);
            waitFor(sh, Duration.ofSeconds(10));
        }
        server = null;
        state = State.STOPPED;
        awaitPortClosed(amqpPort, Duration.ofSeconds(10));
    }

    /**
     * Stops the node if it runs, stops its epmd ({@code epmd -kill}) and deletes its directory. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) return;
        List<Throwable> problems = new ArrayList<>();
        try {
            if (state == State.RUNNING) stop();
        } catch (RuntimeException e) {
            problems.add(e);
        }
        Process sh = server;
        if (sh != null) killTree(sh); // only if stop() failed
        server = null;
        state = State.CLOSED;
        stopEpmd();
        try {
            deleteRecursively(dir);
        } catch (IOException e) {
            problems.add(e);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or about to: it finds nothing left to do
        }
        if (!problems.isEmpty()) {
            IllegalStateException e = new IllegalStateException("closing " + nodeName + " failed");
            problems.forEach(e::addSuppressed);
            throw e;
        }
    }

    /**
     * Runs {@code rabbitmqctl -n NODE args...} against this node (with its cookie and epmd) and returns its
     * stdout, e.g. {@code rabbitmqctl("list_queues", "-q", "--no-table-headers", "name", "messages_ready",
     * "messages_unacknowledged")}. Throws if it exits non-zero.
     */
    public String rabbitmqctl(String... args) {
        checkNotClosed();
        return ctl(CTL_TIMEOUT, args).stdout();
    }

    // ------------------------------------------------------------------ internals

    private void launch() {
        Instant started = Instant.now();
        long deadline = System.nanoTime() + startTimeout.toNanos();
        ensureEpmd(deadline);
        try {
            Files.deleteIfExists(pidFile);
            Files.writeString(logFile, "==== " + OffsetDateTime.now() + " starting " + nodeName + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
            ProcessBuilder pb = new ProcessBuilder("setsid", installDir.resolve("rabbitmq-server").toString())
                    .directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            pb.environment().clear();
            pb.environment().putAll(env);
            server = pb.start();
            state = State.RUNNING;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + installDir.resolve("rabbitmq-server"), e);
        }
        awaitStartup(deadline);
        lastStartMillis = Duration.between(started, Instant.now()).toMillis();
    }

    /** How long the last start (or startAgain) took until the broker had booted, in milliseconds. */
    public long lastStartMillis() {
        return lastStartMillis;
    }

    private void awaitStartup(long deadline) {
        Process sh = server;
        // The pid file is written once the node's distribution is up (about 1.5 s): from then on
        // `rabbitmqctl await_startup` can reach the node and blocks until the boot is complete. Called earlier,
        // it fails at once ("not running at all"), so wait for the file first (cheap), then retry briefly.
        while (!Files.exists(pidFile)) {
            checkBooting(sh, deadline);
            sleep(50);
        }
        while (true) {
            long remaining = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
            CtlResult r = runCtl(Duration.ofSeconds(remaining + 10), "await_startup", "--timeout", Long.toString(remaining));
            if (r.exitCode() == 0) break;
            checkBooting(sh, deadline);
            String output = r.stderr() + r.stdout();
            if (!output.contains("not running at all")) {
                killTree(sh);
                failStart("rabbitmqctl await_startup exited with " + r.exitCode() + ":\n" + output);
            }
            sleep(200);
        }
        if (!sh.isAlive()) {
            failStart("the broker exited with code " + sh.exitValue() + " right after starting");
        }
        if (!listening(amqpPort)) {
            killTree(sh);
            failStart("the broker booted but does not listen on 127.0.0.1:" + amqpPort);
        }
    }

    private void checkBooting(Process sh, long deadline) {
        if (!sh.isAlive()) {
            failStart("the broker exited with code " + sh.exitValue() + " while starting");
        }
        if (System.nanoTime() > deadline) {
            killTree(sh);
            failStart("the broker did not boot within " + startTimeout.toSeconds() + " s");
        }
    }

    private void failStart(String why) {
        Process sh = server;
        if (sh != null) waitFor(sh, Duration.ofSeconds(5));
        server = null;
        state = State.STOPPED;
        String tail = logTail(LOG_TAIL_LINES);
        String message = "private RabbitMQ node " + nodeName + " (amqp 127.0.0.1:" + amqpPort + ", dir " + dir
                + ") failed to start: " + why + "\n---- last lines of " + logFile + " ----\n" + tail;
        if (tail.contains("eaddrinuse") || tail.contains("could_not_start_listener")) {
            throw new PortConflict(message);
        }
        throw new IllegalStateException(message);
    }

    private void ensureEpmd(long deadline) {
        Process e = epmd;
        if (e != null && e.isAlive()) return;
        Path epmdBin = findEpmd();
        try {
            ProcessBuilder pb = new ProcessBuilder("setsid", epmdBin.toString(), "-port", Integer.toString(epmdPort),
                    "-address", "127.0.0.1")
                    .directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("log").resolve("epmd.out").toFile()));
            pb.environment().clear();
            pb.environment().putAll(env);
            e = pb.start();
            epmd = e;
            Files.writeString(dir.resolve("epmd.pid"), Long.toString(e.pid()));
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot start " + epmdBin, ex);
        }
        long epmdDeadline = Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        while (!listening(epmdPort)) {
            if (!e.isAlive()) {
                throw new PortConflict("epmd for " + nodeName + " could not listen on 127.0.0.1:" + epmdPort
                        + " (exit " + e.exitValue() + ")");
            }
            if (System.nanoTime() > epmdDeadline) {
                e.destroyForcibly();
                throw new IllegalStateException("epmd for " + nodeName + " did not listen on 127.0.0.1:" + epmdPort);
            }
            sleep(20);
        }
    }

    private void stopEpmd() {
        Process e = epmd;
        if (e == null) return;
        if (e.isAlive()) {
            try {
                ProcessBuilder pb = new ProcessBuilder(findEpmd().toString(), "-port", Integer.toString(epmdPort), "-kill")
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
                pb.environment().clear();
                pb.environment().putAll(env);
                Process kill = pb.start();
                if (!kill.waitFor(5, TimeUnit.SECONDS)) kill.destroyForcibly();
            } catch (IOException ignored) {
                // destroyed below
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            if (!waitFor(e, Duration.ofSeconds(5))) {
                e.destroyForcibly();
                waitFor(e, Duration.ofSeconds(5));
            }
        }
        epmd = null;
    }

    private static Path findEpmd() {
        for (String candidate : List.of("/usr/bin/epmd", "/usr/lib/erlang/bin/epmd", "/usr/local/bin/epmd")) {
            Path p = Path.of(candidate);
            if (Files.isExecutable(p)) return p;
        }
        throw new IllegalStateException("epmd (Erlang) not found: install RabbitMQ with `" + INSTALL_COMMAND + "`");
    }

    private void checkNotClosed() {
        if (state == State.CLOSED) throw new IllegalStateException(nodeName + " is closed");
    }

    /** Called by the JVM shutdown hook: no locks, no rabbitmqctl, just kill and clean up. */
    private void emergencyKill() {
        if (state == State.CLOSED) return;
        Process sh = server;
        if (sh != null) killTree(sh);
        Process e = epmd;
        if (e != null) e.destroyForcibly();
        state = State.CLOSED;
        try {
            deleteRecursively(dir);
        } catch (IOException | RuntimeException ignored) {
            // best effort while the JVM exits
        }
    }

    private void closeQuietly(Throwable cause) {
        try {
            close();
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private record CtlResult(int exitCode, String stdout, String stderr) {
    }

    private CtlResult ctl(Duration timeout, String... args) {
        CtlResult r = runCtl(timeout, args);
        if (r.exitCode() != 0) {
            throw new IllegalStateException("rabbitmqctl -n " + nodeName + " " + String.join(" ", args) + " exited with "
                    + r.exitCode() + ":\n" + r.stderr() + r.stdout());
        }
        return r;
    }

    private CtlResult runCtl(Duration timeout, String... args) {
        return runCtl(timeout, () -> false, args);
    }

    /** Runs rabbitmqctl; gives up (kills it) after the timeout, or a second after {@code moot} turns true. */
    private CtlResult runCtl(Duration timeout, BooleanSupplier moot, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(installDir.resolve("rabbitmqctl").toString());
        cmd.add("-n");
        cmd.add(nodeName);
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().clear();
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread errReader = Thread.ofPlatform().daemon().name("rabbitmqctl-stderr").start(() -> copy(p.getErrorStream(), err));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread outReader = Thread.ofPlatform().daemon().name("rabbitmqctl-stdout").start(() -> copy(p.getInputStream(), out));
            long deadline = System.nanoTime() + timeout.toNanos();
            long mootSince = 0;
            while (!p.waitFor(100, TimeUnit.MILLISECONDS) && System.nanoTime() < deadline) {
                if (mootSince == 0 && moot.getAsBoolean()) mootSince = System.nanoTime();
                if (mootSince != 0 && System.nanoTime() - mootSince > TimeUnit.SECONDS.toNanos(1)) break;
            }
            if (p.isAlive()) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                if (mootSince != 0) return new CtlResult(-1, "", "abandoned: the node is gone");
                throw new IllegalStateException("rabbitmqctl -n " + nodeName + " " + String.join(" ", args)
                        + " did not finish within " + timeout.toSeconds() + " s");
            }
            outReader.join(5000);
            errReader.join(5000);
            return new CtlResult(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + cmd, e);
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try (in) {
            in.transferTo(out);
        } catch (IOException ignored) {
            // the process is gone
        }
    }

    /**
     * SIGKILLs the broker VM, lets the setsid'd shell (our child) reap it and exit, then SIGKILLs whatever else
     * of the tree still lives (erl_child_setup, inet_gethost normally exit by themselves when the VM goes).
     * Orphans that exit are reaped lazily by PID 1 on this machine: a zombie counts as gone.
     */
    private static void killTree(Process sh) {
        List<ProcessHandle> tree = sh.descendants().collect(Collectors.toCollection(ArrayList::new));
        tree.stream().filter(h -> h.info().command().map(c -> c.endsWith("beam.smp")).orElse(false))
                .forEach(ProcessHandle::destroyForcibly);
        if (!waitFor(sh, Duration.ofSeconds(5))) {
            sh.destroyForcibly();
            waitFor(sh, Duration.ofSeconds(5));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (ProcessHandle h : tree) {
            if (running(h)) h.destroyForcibly();
        }
        while (tree.stream().anyMatch(RabbitNode::running) && System.nanoTime() < deadline) {
            sleep(20);
        }
    }

    /** Alive and not a zombie (ProcessHandle.isAlive() is true for a zombie). */
    private static boolean running(ProcessHandle h) {
        if (!h.isAlive()) return false;
        try {
            String stat = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
            int afterName = stat.lastIndexOf(')');
            return afterName < 0 || stat.length() < afterName + 3 || stat.charAt(afterName + 2) != 'Z';
        } catch (IOException e) {
            return false; // gone
        }
    }

    private static boolean waitFor(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        }
    }

    private static void awaitPortClosed(int port, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (listening(port) && System.nanoTime() < deadline) {
            sleep(50);
        }
    }

    /** Whether something listens on 127.0.0.1:port (read from /proc/net/tcp: no connection, no log noise). */
    static boolean listening(int port) {
        String local = String.format(Locale.ROOT, "0100007F:%04X", port);
        try (Stream<String> lines = Files.lines(Path.of("/proc/net/tcp"))) {
            return lines.skip(1).map(String::trim).map(l -> l.split("\\s+"))
                    .anyMatch(f -> f.length > 3 && f[1].equals(local) && f[3].equals("0A"));
        } catch (IOException | UncheckedIOException e) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return true;
            } catch (IOException refused) {
                return false;
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static void checkInstalled(Path installDir) {
        Path server = installDir.resolve("rabbitmq-server");
        Path ctl = installDir.resolve("rabbitmqctl");
        if (!Files.isExecutable(server) || !Files.isExecutable(ctl)) {
            throw new IllegalStateException("RabbitMQ is not installed (" + server + " is missing). Tests that need"
                    + " a private broker cannot run without it. Install it with: " + INSTALL_COMMAND
                    + " (Debian/Ubuntu, as root; RabbitMQ 3.10 with Erlang 25 on Debian bookworm). The system"
                    + " service it starts is not used by the tests.");
        }
    }

    /** Free ports on 127.0.0.1: bind to port 0 and close again, all held until all are picked (distinct). */
    static int[] freePorts(int count) {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[count];
            int found = 0;
            InetAddress loopback = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
            while (found < count) {
                ServerSocket s = new ServerSocket();
                held.add(s);
                s.bind(new InetSocketAddress(loopback, 0));
                int port = s.getLocalPort();
                if (!avoided(port)) ports[found++] = port;
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find free ports on 127.0.0.1", e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // nothing to do
                }
            }
        }
    }

    private static boolean avoided(int port) {
        for (int[] r : AVOIDED_PORT_RANGES) {
            if (port >= r[0] && port <= r[1]) return true;
        }
        return false;
    }

    static String randomString(int length, String alphabet) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        return sb.toString();
    }

    static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) return;
        IOException failure = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
                return;
            } catch (NoSuchFileException raced) {
                failure = raced; // a file vanished while walking: walk again
            } catch (IOException e) {
                failure = e; // e.g. a late write by a dying process: walk again
            }
            sleep(100);
        }
        if (Files.exists(root)) throw failure;
    }

    /**
     * Kills and deletes the nodes of JVMs that died without running their shutdown hooks (SIGKILL, e.g. a
     * surefire fork killed on timeout): their directory's owner.pid names a process that is gone.
     */
    static void reapOrphans(Path base) {
        if (!Files.isDirectory(base)) return;
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base, DIR_PREFIX + "*")) {
            for (Path d : dirs) {
                try {
                    Path owner = d.resolve("owner.pid");
                    if (!Files.isRegularFile(owner)) continue;
                    long ownerPid = Long.parseLong(Files.readString(owner).trim());
                    if (ProcessHandle.of(ownerPid).map(ProcessHandle::isAlive).orElse(false)) continue;
                    String homeArg = d.toRealPath().resolve("home").toString();
                    ProcessHandle.allProcesses()
                            .filter(h -> h.info().arguments().map(a -> Arrays.asList(a).contains(homeArg)).orElse(false))
                            .forEach(ProcessHandle::destroyForcibly);
                    Path epmdPid = d.resolve("epmd.pid");
                    if (Files.isRegularFile(epmdPid)) {
                        ProcessHandle.of(Long.parseLong(Files.readString(epmdPid).trim()))
                                .filter(h -> h.info().command().map(c -> c.endsWith("epmd")).orElse(false))
                                .ifPresent(ProcessHandle::destroyForcibly);
                    }
                    deleteRecursively(d);
                } catch (IOException | RuntimeException ignored) {
                    // not ours to judge: leave it
                }
            }
        } catch (IOException ignored) {
            // nothing to reap
        }
    }

    /** A start that failed because a picked port was taken meanwhile (retried with new ports). */
    private static final class PortConflict extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        PortConflict(String message) {
            super(message);
        }
    }
}
