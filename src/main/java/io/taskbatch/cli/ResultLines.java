package io.taskbatch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Results as JSON Lines passed on once each: a line is kept when it is a complete result whose id was not
 * passed on before (and, with {@code failedOnly}, that failed). Both ends of {@code taskbatch results} use
 * it: the reader pod over the results file, and the CLI over the reader's log, where the results sit between
 * {@link #BEGIN} and {@link #END} lines (anything else in a pod's log, such as a JVM warning, is not a result).
 * Reading the log twice (a follow stream that ended early, then the whole log) passes nothing on twice.
 */
final class ResultLines {
    static final String BEGIN = "taskbatch-results-begin";
    /** Followed by {@code lines=N}: how many results the reader wrote. */
    static final String END = "taskbatch-results-end";
    /** A line for the user (the file is missing, say), passed on to stderr. */
    static final String NOTE = "taskbatch-results-note: ";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final boolean failedOnly;
    private final Consumer<String> out;
    private final BitSet seen = new BitSet();
    private final Set<Long> seenLarge = new HashSet<>();
    private long kept;
    private long malformed;

    ResultLines(boolean failedOnly, Consumer<String> out) {
        this.failedOnly = failedOnly;
        this.out = out;
    }

    /** Passes {@code line} on unless it is no result, a result seen before, or (with failedOnly) one that succeeded. */
    void offer(String line) {
        if (line.isBlank()) return;
        JsonNode result;
        try {
            result = JSON.readTree(line);
        } catch (IOException e) {
            malformed++;
            return;
        }
        if (result == null || !result.isObject() || !result.path("id").canConvertToLong()) {
            malformed++;
            return;
        }
        if (failedOnly && !"failed".equals(result.path("status").asText())) return;
        long id = result.path("id").asLong();
        boolean fresh;
        if (id >= 0 && id < Integer.MAX_VALUE) {
            fresh = !seen.get((int) id);
            seen.set((int) id);
        } else {
            fresh = seenLarge.add(id);
        }
        if (!fresh) return;
        kept++;
        out.accept(line);
    }

    long kept() {
        return kept;
    }

    /** Lines that were no result (not JSON, or without an id). */
    long malformed() {
        return malformed;
    }

    /**
     * Splits {@code in} into complete lines (a last line without its newline is still being written, or was
     * cut off, and is left out) and hands each to {@code line}.
     */
    static void completeLines(InputStream in, Consumer<String> line) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        java.io.ByteArrayOutputStream current = new java.io.ByteArrayOutputStream();
        for (int n; (n = in.read(buffer)) >= 0; ) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buffer[i] == '\n') {
                    current.write(buffer, start, i - start);
                    line.accept(current.toString(StandardCharsets.UTF_8));
                    current.reset();
                    start = i + 1;
                }
            }
            current.write(buffer, start, n - start);
        }
    }

    /** The CLI's side: a reader pod's log, read once or more, each time from its beginning. */
    static final class ReaderLog {
        private final ResultLines results;
        private final Consumer<String> notes;
        private final Set<String> noted = new HashSet<>();
        private boolean inside;
        private Long written;

        ReaderLog(ResultLines results, Consumer<String> notes) {
            this.results = results;
            this.notes = notes;
        }

        void line(String line) {
            if (line.startsWith(NOTE)) {
                if (noted.add(line)) notes.accept(line.substring(NOTE.length()));
            } else if (line.equals(BEGIN)) {
                inside = true;
            } else if (line.startsWith(END + " lines=")) {
                inside = false;
                written = Long.parseLong(line.substring((END + " lines=").length()).strip());
            } else if (inside) {
                results.offer(line);
            }
        }

        /** Another read of the log, from its beginning. */
        void again() {
            inside = false;
        }

        /** How many results the reader wrote, once its last line was read. */
        java.util.OptionalLong written() {
            return written == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(written);
        }
    }

    /** The reader's side: the file's results between the markers, then how many. */
    static long writeMarked(InputStream file, boolean failedOnly, PrintStream out) throws IOException {
        out.println(BEGIN);
        ResultLines lines = new ResultLines(failedOnly, out::println);
        completeLines(file, lines::offer);
        out.println(END + " lines=" + lines.kept());
        out.flush();
        return lines.kept();
    }
}
