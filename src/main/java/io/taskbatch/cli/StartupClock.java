package io.taskbatch.cli;

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
    /** The line {@link #firstResult} logs; {@code bench --broker} parses it back. */
    public static final Pattern LINE = Pattern.compile("(worker|master) first result ([0-9]+\\.[0-9]+) s after the process started");

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
        return new StartupClock(log, role, ProcessHandle.current().info().startInstant().orElse(null));
    }

    /** Logs the time since the process started, the first time only; cheap (one read) on later calls. */
    void firstResult() {
        if (told.get() || told.getAndSet(true) || processStart == null) return;
        log.info(line(role, Duration.between(processStart, Instant.now())));
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
