package io.taskbatch.cli;

import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Progress;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.queue.ResultMessage;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * Shows a batch's progress on stderr: a live bar on a terminal, a plain line every few seconds
 * otherwise (logs, CI), and a one-line summary at the end.
 *
 * <p>The bar is one line no wider than the terminal ({@code COLUMNS}, else 80 columns), so a redraw
 * never wraps, and it is painted as soon as the batch starts ({@link #start()}). When the results go
 * to the same terminal, they go through {@link #guard}: the bar line is cleared before result bytes
 * are written and painted again on the next tick, once the last result line is complete, so the
 * JSON lines are never cut by the bar. (Keeping the bar off whenever stdout is a terminal would be
 * simpler, but the most common interactive run, results on the screen, would then show no progress.)
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
    private static final int MIN_BAR_WIDTH = 10;
    private static final int DEFAULT_COLUMNS = 80;
    private static final Duration RATE_WINDOW = Duration.ofSeconds(5);
    private static final Duration PLAIN_EVERY = Duration.ofSeconds(5);

    private final String name;
    private final PrintWriter err;
    private final Mode mode;
    private final ArrayDeque<long[]> samples = new ArrayDeque<>(); // {elapsedNanos, done}
    private final int columns;
    private long lastPlainNanos = Long.MIN_VALUE;
    private boolean barShown;
    private String lastFrame;
    private boolean resultLineOpen;

    ProgressPrinter(String name, PrintWriter err, Mode mode) {
        this(name, err, mode, terminalWidth(System.getenv("COLUMNS")));
    }

    /** @param columns the terminal's width: no bar frame is wider */
    ProgressPrinter(String name, PrintWriter err, Mode mode, int columns) {
        this.name = name;
        this.err = err;
        this.mode = mode == Mode.AUTO ? (stderrIsTerminal() ? Mode.BAR : Mode.PLAIN) : mode;
        this.columns = columns;
    }

    /** The width {@code COLUMNS} gives, else 80. */
    static int terminalWidth(String columnsVariable) {
        try {
            int c = Integer.parseInt(columnsVariable == null ? "" : columnsVariable.strip());
            return c > 0 ? c : DEFAULT_COLUMNS;
        } catch (NumberFormatException e) {
            return DEFAULT_COLUMNS;
        }
    }

    static boolean stdoutIsTerminal() {
        return isTerminal(1);
    }

    /** Shows the first frame at once, before any task is done: the batch has started. */
    synchronized void start() {
        switch (mode) {
            case BAR -> paint(fit("[" + ".".repeat(BAR_WIDTH) + "] starting"));
            case PLAIN -> {
                err.println(name + ": starting");
                err.flush();
            }
            default -> { }
        }
    }

    /**
     * The stream to write results to: {@code out} itself, unless the bar is on and {@code out} goes to
     * the same terminal; then a stream that clears the bar before each write (see the class comment).
     */
    OutputStream guard(OutputStream out, boolean sameTerminal) {
        if (mode != Mode.BAR || !sameTerminal) return out;
        return new FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (len == 0) return;
                synchronized (ProgressPrinter.this) {
                    hideBar();
                    out.write(b, off, len);
                    out.flush();
                    resultLineOpen = b[off + len - 1] != '\n';
                }
            }
        };
    }

    private void hideBar() {
        if (barShown) {
            err.print("\r\033[K");
            err.flush();
            barShown = false;
        }
    }

    private void paint(String frame) {
        lastFrame = frame;
        if (resultLineOpen) return; // a result line is half written: the next tick paints
        err.print("\r" + frame + "\033[K");
        err.flush();
        barShown = true;
    }

    static boolean stderrIsTerminal() {
        return isTerminal(2);
    }

    private static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
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
            case BAR -> paint(bar(p));
            case PLAIN -> {
                if ((lastPlainNanos == Long.MIN_VALUE || now - lastPlainNanos >= PLAIN_EVERY.toNanos()) && !p.complete()) {
                    lastPlainNanos = now;
                    err.println(name + ": " + counts(p));
                    err.flush();
                }
            }
            default -> { }
        }
    }

    /** A line of its own between frames (in bar mode the bar is painted again on the next tick); nothing with none. */
    synchronized void note(String line) {
        if (mode == Mode.NONE) return;
        hideBar();
        err.println(name + ": " + line);
        err.flush();
        if (mode == Mode.BAR && lastFrame != null) paint(lastFrame);
    }

    @Override
    public synchronized void onFinish(BatchOutcome outcome) {
        hideBar();
        Progress p = outcome.progress();
        double seconds = p.elapsed().toNanos() / 1e9;
        String summary = String.format(Locale.ROOT, "%s: %s: %d/%s done, %d succeeded, %d failed%s%s, %d retried in %.1fs (%.0f tasks/s)",
                name, outcome.succeeded() ? "succeeded" : "FAILED", p.done(), total(p), p.succeeded(), p.failed(),
                p.dead() > 0 ? " (" + p.dead() + " dead)" : "", p.cancelled() > 0 ? ", " + p.cancelled() + " cancelled" : "",
                p.retried(), seconds, p.averageRate());
        if (mode != Mode.NONE || !outcome.succeeded()) {
            err.println(summary);
            if (p.rejected() > 0) {
                err.println("  " + Plural.of(p.rejected(), "result") + " not of this batch rejected, never counted (see the log)");
            }
            if (!outcome.succeeded()) {
                err.println("  why: " + outcome.reason());
                for (ResultMessage f : p.firstFailures().subList(0, Math.min(5, p.firstFailures().size()))) {
                    err.println("  task " + f.id() + (f.input() == null ? " (no input" : " (input " + abbreviate(f.input())) + ", "
                            + Plural.of(f.attempts(), "attempt") + "): " + abbreviate(f.error()));
                }
            }
        }
        err.flush();
    }

    /** One frame: the bar narrows down to 10 cells to leave room for the counts, then the line is cut to fit. */
    String bar(Progress p) {
        String counts = counts(p);
        int width = Math.max(MIN_BAR_WIDTH, Math.min(BAR_WIDTH, usable() - counts.length() - 3));
        double fraction = p.total() > 0 ? Math.min(1, (double) p.done() / p.total()) : 0;
        int filled = (int) Math.round(fraction * width);
        return fit("[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + counts);
    }

    /** The columns a frame may use: one less than the terminal's, as a character in the last column wraps on some terminals. */
    private int usable() {
        return Math.max(1, columns - 1);
    }

    private String fit(String frame) {
        return frame.length() <= usable() ? frame : frame.substring(0, usable());
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
