package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import java.util.ArrayList;
import java.util.List;

/**
 * A new round of a decided batch: the tasks whose results are of the selected kinds run again, with their ids, and
 * their new results replace the old ones; every other result is kept as it was. {@code taskbatch redrive} sets it.
 */
public class RedriveSpec {
    /** The kinds of result a round can run again. */
    public static final List<String> KINDS = List.of("failed", "dead", "cancelled");

    @JsonPropertyDescription("The round to run: 0 is the first run; raising it by one, once the batch is decided, "
            + "starts the next round.")
    @Default("0")
    @Min(0)
    private int round;

    @JsonPropertyDescription("Which results run again: failed (failed tasks that were not dead), dead (tasks whose "
            + "workers died, or malformed ones) and cancelled (tasks the batch stopped before they ran); default all three.")
    private List<String> select = new ArrayList<>(KINDS);

    public int getRound() { return round; }
    public void setRound(int round) { this.round = round; }
    public List<String> getSelect() { return select; }
    public void setSelect(List<String> select) { this.select = select; }
}
