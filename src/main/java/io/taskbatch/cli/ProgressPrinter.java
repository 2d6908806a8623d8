package io.taskbatch.cli;

import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Progress;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.queue.ResultMessage;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * Shows a batch's progress on stderr: a live bar on a terminal, a plain line every few seconds
 * otherwise (logs, CI), and a one-line summary at the end.
 */
final class ProgressPrinter implements ProgressListener {
    enum Mode {
        AUTO, BAR, PLAIN, NONE;

        /** The mode named by a --progress value, or null after telling {@code err} the choices. */
        static Mode parse(String value, PrintWriter err) {
            try {
                return valueOf(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                err.println("--progress: \"" + value + "\" is not one of auto, bar, plain, none");
                return null;
            }
        }
    }

    private static final int BAR_WIDTH = 24;
    private static final Duration RATE_WINDOW = Duration.ofSeconds(5);
    private static final Duration PLAIN_EVERY = Duration.ofSeconds(5);

    private final String name;
    private final PrintWriter err;
    private final Mode mode;
    private final ArrayDeque<long[]> samples = new ArrayDeque<>(); // {elapsedNanos, done}
    private long lastPlainNanos;
    private boolean barShown;

    ProgressPrinter(String name, PrintWriter err, Mode mode) {
        this.name = name;
        this.err = err;
        this.mode = mode == Mode.AUTO ? (stderrIsTerminal() ? Mode.BAR : Mode.PLAIN) : mode;
    }

    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return System.console() != null;
        }
    }

    @Override
    public synchronized void onProgress(Progress p) {
        long now = p.elapsed().toNanos();
        samples.addLast(new long[] {now, p.done()});
        while (samples.size() > 2 && now - samples.peekFirst()[0] > RATE_WINDOW.toNanos()) samples.removeFirst();
        switch (mode) {
            case BAR -> {
                err.print("\r" + bar(p) + "\033[K");
                err.flush();
                barShown = true;
            }
            case PLAIN -> {
                if (now - lastPlainNanos >= PLAIN_EVERY.toNanos() && !p.complete()) {
                    lastPlainNanos = now;
                    err.println(name + ": " + counts(p));
                    err.flush();
                }
            }
            default -> { }
        }
    }

    @Override
    public synchronized void onFinish(BatchOutcome outcome) {
        if (barShown) err.print("\r\033[K");
        Progress p = outcome.progress();
        double seconds = p.elapsed().toNanos() / 1e9;
        String summary = String.format(Locale.ROOT, "%s: %s: %d/%s done, %d succeeded, %d failed%s, %d retried in %.1fs (%.0f tasks/s)",
                name, outcome.succeeded() ? "succeeded" : "FAILED", p.done(), total(p), p.succeeded(), p.failed(),
                p.dead() > 0 ? " (" + p.dead() + " dead)" : "", p.retried(), seconds, p.averageRate());
        if (mode != Mode.NONE || !outcome.succeeded()) {
            err.println(summary);
            if (!outcome.succeeded()) {
                err.println("  why: " + outcome.reason());
                for (ResultMessage f : p.firstFailures().subList(0, Math.min(5, p.firstFailures().size()))) {
                    err.println("  task " + f.id() + " (input " + abbreviate(f.input()) + ", " + f.attempts()
                            + " attempts): " + abbreviate(f.error()));
                }
            }
        }
        err.flush();
    }

    private String bar(Progress p) {
        double fraction = p.total() > 0 ? Math.min(1, (double) p.done() / p.total()) : 0;
        int filled = (int) Math.round(fraction * BAR_WIDTH);
        return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] " + counts(p);
    }

    private String counts(Progress p) {
        double rate = currentRate();
        StringBuilder sb = new StringBuilder();
        sb.append(p.done()).append('/').append(total(p)).append(" done, ").append(p.failed()).append(" failed, ");
        sb.append(String.format(Locale.ROOT, "%.0f/s", rate));
        if (p.total() > 0 && rate > 0) {
            long etaSeconds = (long) Math.ceil((p.total() - p.done()) / rate);
            sb.append(", ETA ").append(clock(etaSeconds));
        }
        return sb.toString();
    }

    private double currentRate() {
        if (samples.size() < 2) return 0;
        long[] first = samples.peekFirst();
        long[] last = samples.peekLast();
        double seconds = (last[0] - first[0]) / 1e9;
        return seconds > 0 ? (last[1] - first[1]) / seconds : 0;
    }

    private static String total(Progress p) {
        return p.total() < 0 ? "?" : Long.toString(p.total());
    }

    static String clock(long seconds) {
        long h = seconds / 3600;
        long m = seconds / 60 % 60;
        long s = seconds % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, s) : String.format(Locale.ROOT, "%d:%02d", m, s);
    }

    private static String abbreviate(String s) {
        if (s == null) return "";
        String one = s.replace('\n', ' ');
        return one.length() > 160 ? one.substring(0, 157) + "..." : one;
    }
}
