package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** When the whole batch counts as failed. */
public class FailurePolicySpec {
    @JsonPropertyDescription("The batch fails, and stops, once more tasks than this have failed for good.")
    private long maxFailedTasks;

    public long getMaxFailedTasks() { return maxFailedTasks; }
    public void setMaxFailedTasks(long maxFailedTasks) { this.maxFailedTasks = maxFailedTasks; }
}
