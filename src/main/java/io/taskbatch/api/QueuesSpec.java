package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** How the batch's messages are spread over the broker. */
public class QueuesSpec {
    /** More shards than this buys nothing on any broker we know of, and costs two quorum queues each. */
    public static final int MAX_SHARDS = 32;

    @JsonPropertyDescription("How many task queues and result queues the batch uses (each a quorum queue with its own "
            + "leader, which the broker places on its least loaded node): set it to the broker's node count to use "
            + "more than one node's throughput. 1 (the default) keeps one task and one result queue.")
    @Default("1")
    @Min(1)
    @Max(MAX_SHARDS)
    private int shards = 1;

    public int getShards() { return shards; }
    public void setShards(int shards) { this.shards = shards; }
}
