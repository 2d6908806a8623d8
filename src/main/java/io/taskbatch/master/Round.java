package io.taskbatch.master;

import io.taskbatch.queue.ResultMessage;
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
