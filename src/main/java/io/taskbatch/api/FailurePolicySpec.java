package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Default;

/** When the whole batch counts as failed. */
public class FailurePolicySpec {
    @JsonPropertyDescription("The batch fails, and stops, once more tasks than this have failed for good.")
    @Default("0")
    @Min(0)
    private long maxFailedTasks;

    public long getMaxFailedTasks() { return maxFailedTasks; }
    public void setMaxFailedTasks(long maxFailedTasks) { this.maxFailedTasks = maxFailedTasks; }
}
