package io.taskbatch.master;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbatch.queue.ResultMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * What lets a killed master resume: its results file (the results it stored, hence acknowledged)
 * and a checkpoint of how many tasks from the start of the source the broker had confirmed. A
 * restarted master counts the stored results, publishes from the checkpoint on, and drops any
 * result that arrives again.
 */
public final class MasterState {
    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final String CHECKPOINT = "checkpoint.json";

    private final Path dir;
    private final Path results;
    private final String batchKey;
    private final long confirmedPrefix;
    private final boolean resuming;
    private final boolean freshQueues;

    private MasterState(Path dir, Path results, String batchKey, long confirmedPrefix, boolean resuming, boolean freshQueues) {
        this.dir = dir;
        this.results = results;
        this.batchKey = batchKey;
        this.confirmedPrefix = confirmedPrefix;
        this.resuming = resuming;
        this.freshQueues = freshQueues;
    }

    /** The previous round's results, as JSON Lines, opened afresh. */
    @FunctionalInterface
    public interface PreviousResults {
        BufferedReader open() throws IOException;
    }

    /**
     * Opens the state in {@code dir} for the batch {@code batchKey}: a checkpoint of the same batch
     * means resume; anything else starts afresh (and empties the results file).
     */
    public static MasterState open(Path dir, Path results, String batchKey) throws IOException {
        Files.createDirectories(dir);
        Path checkpoint = dir.resolve(CHECKPOINT);
        if (Files.exists(checkpoint) && Files.exists(results)) {
            JsonNode node = JSON.readTree(checkpoint.toFile());
            if (batchKey.equals(node.path("batch").asText())) {
                dropPartialLastLine(results);
                return new MasterState(dir, results, batchKey, node.path("confirmedPrefix").asLong(0), true, false);
            }
        }
        Files.deleteIfExists(checkpoint);
        Files.write(results, new byte[0]);
        MasterState fresh = new MasterState(dir, results, batchKey, 0, false, true);
        fresh.checkpoint(0);
        return fresh;
    }

    /**
     * Opens the state of {@code round} of the batch {@code batchKey}. Round 0 is {@link #open}. A later round resumes
     * from its own checkpoint, or else starts: the previous round's results whose tasks do not run again become the
     * first lines of {@code results} (written aside, then moved over it), and the state resumes from them, so that
     * every task without a result (those that run again, and any the previous results lack) is published once more.
     */
    public static MasterState openRound(Path dir, Path results, String batchKey, Round round, PreviousResults previous)
            throws IOException {
        if (round.number() == 0) return open(dir, results, batchKey);
        String key = round.key(batchKey);
        Files.createDirectories(dir);
        Path checkpoint = dir.resolve(CHECKPOINT);
        if (Files.exists(checkpoint) && Files.exists(results) && key.equals(JSON.readTree(checkpoint.toFile()).path("batch").asText())) {
            return open(dir, results, key);
        }
        Path aside = results.resolveSibling(results.getFileName() + ".round-" + round.number() + ".tmp");
        long lineNo = 0;
        try (BufferedReader in = previous.open();
             FileChannel out = FileChannel.open(aside, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING);
             java.io.Writer w = java.nio.channels.Channels.newWriter(out, java.nio.charset.StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                if (!round.runsAgain(Round.parse(line, lineNo, "the previous round's results"))) w.write(line + "\n");
            }
            w.flush();
            out.force(true);
        }
        Files.move(aside, results, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        MasterState started = new MasterState(dir, results, key, 0, true, true);
        started.checkpoint(0);
        return started;
    }

    /** Whether the batch's queues start afresh: a new batch, or a new round (not a master resuming either). */
    public boolean freshQueues() {
        return freshQueues;
    }

    public boolean resuming() {
        return resuming;
    }

    public long confirmedPrefix() {
        return confirmedPrefix;
    }

    public Path results() {
        return results;
    }

    /** The results stored so far, read lazily. */
    public Iterable<ResultMessage> storedResults() {
        return () -> {
            try {
                BufferedReader reader = Files.newBufferedReader(results);
                return new Iterator<>() {
                    private String line = advance();

                    private String advance() {
                        try {
                            String l;
                            while ((l = reader.readLine()) != null && l.isBlank()) {
                                // skip
                            }
                            if (l == null) reader.close();
                            return l;
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }

                    @Override
                    public boolean hasNext() {
                        return line != null;
                    }

                    @Override
                    public ResultMessage next() {
                        if (line == null) throw new NoSuchElementException();
                        try {
                            ObjectNode node = (ObjectNode) JSON.readTree(line);
                            line = advance();
                            return JSON.treeToValue(node, ResultMessage.class);
                        } catch (IOException e) {
                            throw new UncheckedIOException("unreadable line in " + results, e);
                        }
                    }
                };
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }

    /** Records that tasks {@code 0 .. confirmedPrefix-1} are safe on the broker (atomic: write, then rename). */
    public void checkpoint(long confirmedPrefix) throws IOException {
        Path tmp = dir.resolve(CHECKPOINT + ".tmp");
        ObjectNode node = JSON.createObjectNode().put("batch", batchKey).put("confirmedPrefix", confirmedPrefix);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(JSON.writeValueAsBytes(node)));
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(CHECKPOINT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** A master killed mid-write leaves half a line: cut it (that result was never acknowledged). */
    static void dropPartialLastLine(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long keep = size;
            ByteBuffer one = ByteBuffer.allocate(1);
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') break;
                keep--;
            }
            if (keep < size) ch.truncate(keep);
        }
    }
}
