package io.taskbatch.master;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.taskbatch.queue.ResultMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A round of a batch: 0 is its first run; each redrive is one more, in which the tasks whose previous results are of
 * the selected kinds run again (with their ids) and every other result is kept as it was.
 *
 * @param number the round, 0 for the first run
 * @param select the kinds of result that run again in this round (empty for round 0)
 */
public record Round(int number, Set<Kind> select) {
    /** What a previous result was, as a redrive selects it. */
    public enum Kind {
        /** Failed, and not dead. */
        FAILED,
        /** Never answered: every worker that took it died, or the message was malformed. */
        DEAD,
        /** Never run: the batch stopped first. */
        CANCELLED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind of(ResultMessage r) {
            if (r.status() == ResultMessage.Status.CANCELLED) return CANCELLED;
            if (r.succeeded()) return null;
            return r.dead() ? DEAD : FAILED;
        }
    }

    public static final Round FIRST = new Round(0, Set.of());
    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public Round {
        select = Set.copyOf(select);
    }

    /** Round {@code number} running again the kinds {@code labels} names (failed, dead, cancelled). */
    public static Round of(int number, List<String> labels) {
        if (number == 0) return FIRST;
        return new Round(number, labels.stream().map(l -> Kind.valueOf(l.toUpperCase(Locale.ROOT))).collect(Collectors.toSet()));
    }

    /** Whether the task of {@code previous} runs again in this round (a success never does). */
    public boolean runsAgain(ResultMessage previous) {
        Kind kind = Kind.of(previous);
        return kind != null && select.contains(kind);
    }

    /**
     * Carries the previous results whose tasks do not run again into this round: each is stored in {@code sink} and
     * counted by {@code master} (call before {@link Master#run}, which then publishes only the other tasks).
     *
     * @return how many results were carried over
     */
    public long carryOver(BufferedReader previous, String what, ResultSink sink, Master master) throws IOException {
        long kept = 0;
        long lineNo = 0;
        for (String line; (line = previous.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank()) continue;
            ResultMessage r = parse(line, lineNo, what);
            if (runsAgain(r)) continue;
            sink.write(r);
            master.resume(List.of(r), 0);
            kept++;
        }
        sink.flush();
        return kept;
    }

    /** One line of previous results, or an error that names it. */
    static ResultMessage parse(String line, long lineNo, String what) throws IOException {
        try {
            return JSON.readValue(line, ResultMessage.class);
        } catch (IOException e) {
            throw new IOException("line " + lineNo + " of " + what + " is not a result: " + e.getMessage(), e);
        }
    }

    /** The key of this round's checkpoint: a batch's own, with the round for each redrive. */
    public String key(String batchKey) {
        return number == 0 ? batchKey : batchKey + "/round-" + number;
    }

    /** E.g. {@code failed, dead and cancelled}. */
    public String describe() {
        List<String> labels = java.util.Arrays.stream(Kind.values()).filter(select::contains).map(Kind::label).toList();
        if (labels.size() <= 1) return String.join("", labels);
        return String.join(", ", labels.subList(0, labels.size() - 1)) + " and " + labels.get(labels.size() - 1);
    }
}
