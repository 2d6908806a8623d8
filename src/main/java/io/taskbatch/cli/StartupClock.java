package io.taskbatch.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * How long a role takes from its process's start (exec, JVM and Quarkus start-up included) to its first result: a
 * worker's first result confirmed by the broker, a master's first result stored. Every worker pod pays it; it is logged
 * once per process, and {@code bench --broker} reads it from the log.
 */
public final class StartupClock {
    /** The debug line {@link #spent} logs; {@code bench --broker} turns it on and parses it back. */
    public static final Pattern SPENT = Pattern.compile("(worker|master) used ([0-9]+\\.[0-9]+) s of CPU, ([0-9]+\\.[0-9]+) s compiling");

    /** The debug line {@link #firstResult} logs besides: the CPU it took to get there. */
    public static final Pattern FIRST_CPU = Pattern.compile(
            "(worker|master) first result after ([0-9]+\\.[0-9]+) s of CPU, ([0-9]+\\.[0-9]+) s compiling");

    /** The line {@link #firstResult} logs; {@code bench --broker} parses it back. */
    public static final Pattern LINE = Pattern.compile("(worker|master) first result ([0-9]+\\.[0-9]+) s after the process started");

    /** Where {@link #spent} logs: a category of its own, for {@code bench --broker} to turn on alone. */
    static final Logger CPU_LOG = Logger.getLogger(StartupClock.class);
    private final Logger log;
    private final String role;
    private final Instant processStart;
    private final AtomicBoolean told = new AtomicBoolean();

    private StartupClock(Logger log, String role, Instant processStart) {
        this.log = log;
        this.role = role;
        this.processStart = processStart;
    }

    /** A clock for {@code role} (worker or master) started when this process was, as the OS tells it. */
    static StartupClock of(Logger log, String role) {
        return new StartupClock(log, role, processStart());
    }

    /**
     * When this process started. On Linux from its age (/proc/uptime less the start in /proc/self/stat, both since boot,
     * to 10 ms): the JDK's {@link ProcessHandle.Info#startInstant} adds that start to the boot time /proc/stat gives in
     * whole seconds, so it is early by up to a second, the same amount for every process until the next boot (0.43 s
     * on the VM the bench ran on), and every start-up looked that much slower.
     */
    static Instant processStart() {
        Instant now = Instant.now();
        try {
            double sinceBoot = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
            return now.minusNanos(Math.round((sinceBoot - startedSinceBoot(Files.readString(Path.of("/proc/self/stat")))) * 1e9));
        } catch (IOException | RuntimeException noProc) {
            return ProcessHandle.current().info().startInstant().orElse(null);
        }
    }

    /** The seconds after boot at which a process started, from its /proc/PID/stat line (field 22, in USER_HZ ticks). */
    static double startedSinceBoot(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[19]) / 100.0; // fields from the 3rd (state) on; USER_HZ, 100 on Linux
    }

    /**
     * Logs the time since the process started, and at debug the CPU this process used to get there, the first time
     * only; cheap (one read) on later calls.
     */
    void firstResult() {
        if (told.get() || told.getAndSet(true) || processStart == null) return;
        log.info(line(role, Duration.between(processStart, Instant.now())));
        if (!CPU_LOG.isDebugEnabled()) return;
        double cpu = processCpuSeconds();
        if (cpu >= 0) {
            CPU_LOG.debug(String.format(Locale.ROOT, "%s first result after %.2f s of CPU, %.2f s compiling", role, cpu,
                    compilerSeconds()));
        }
    }

    /**
     * Logs (at debug) the CPU time this process used so far, and its JIT compiler threads' share: what a role costs
     * besides the broker's work.
     */
    void spent() {
        if (!CPU_LOG.isDebugEnabled()) return;
        double cpu = processCpuSeconds();
        if (cpu >= 0) {
            CPU_LOG.debug(String.format(Locale.ROOT, "%s used %.2f s of CPU, %.2f s compiling", role, cpu, compilerSeconds()));
        }
    }

    /** The CPU seconds (user and system) this process used so far; negative where the JVM cannot tell. */
    private static double processCpuSeconds() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                && os.getProcessCpuTime() >= 0 ? os.getProcessCpuTime() / 1e9 : -1;
    }

    /**
     * CPU seconds of the JIT compiler threads, read from Linux's /proc (the compilation MXBean tells their elapsed time,
     * which a busy machine inflates); 0 where there is no /proc.
     */
    static double compilerSeconds() {
        long ticks = 0;
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path thread : threads) {
                try {
                    String stat = Files.readString(thread.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    if (!name.startsWith("C1 Compiler") && !name.startsWith("C2 Compiler")) continue;
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                } catch (IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException | RuntimeException noProc) {
            return 0;
        }
        return ticks / 100.0; // USER_HZ, 100 on Linux
    }

    /** The CPU seconds and compiling seconds each {@link #spent} line of {@code role} in {@code log} says, in log order. */
    public static List<double[]> spent(String role, CharSequence log) {
        return cpuLines(SPENT, role, log);
    }

    /** The CPU seconds and compiling seconds each first result of {@code role} in {@code log} took, in log order. */
    public static List<double[]> firstResultCpu(String role, CharSequence log) {
        return cpuLines(FIRST_CPU, role, log);
    }

    private static List<double[]> cpuLines(Pattern pattern, String role, CharSequence log) {
        Matcher m = pattern.matcher(log);
        List<double[]> found = new ArrayList<>();
        while (m.find()) {
            if (m.group(1).equals(role)) found.add(new double[] {Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))});
        }
        return found;
    }

    static String line(String role, Duration sinceStart) {
        return String.format(Locale.ROOT, "%s first result %.2f s after the process started", role, sinceStart.toNanos() / 1e9);
    }

    /** The seconds each line of {@code role} in {@code log} says (one per process of that role), in log order. */
    public static List<Double> seconds(String role, CharSequence log) {
        Matcher m = LINE.matcher(log);
        List<Double> found = new ArrayList<>();
        while (m.find()) {
            if (m.group(1).equals(role)) found.add(Double.parseDouble(m.group(2)));
        }
        return found;
    }
}
