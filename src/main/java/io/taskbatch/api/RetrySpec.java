package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Default;

/** Retries of a failed task: the delay doubles from backoff up to maxBackoff. */
public class RetrySpec {
    @JsonPropertyDescription("Attempts per task, the first included (1 = no retry). Also how often a task may be delivered to a worker that dies before it is dead.")
    @Default("3")
    @Min(1)
    private int maxAttempts = 3;
    @JsonPropertyDescription("Delay before the first retry (e.g. 500ms, 2s).")
    @Default("2s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String backoff = "2s";
    @JsonPropertyDescription("Longest delay between retries.")
    @Default("1m")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String maxBackoff = "1m";

    public int getMaxAttempts() { return maxAttempts; }
    public void setMaxAttempts(int maxAttempts) { this.maxAttempts = maxAttempts; }
    public String getBackoff() { return backoff; }
    public void setBackoff(String backoff) { this.backoff = backoff; }
    public String getMaxBackoff() { return maxBackoff; }
    public void setMaxBackoff(String maxBackoff) { this.maxBackoff = maxBackoff; }
}
