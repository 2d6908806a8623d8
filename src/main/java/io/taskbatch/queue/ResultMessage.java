package io.taskbatch.queue;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * The final word on one task, as the master stores it (one JSON line per task).
 *
 * @param dead true when the task never produced a result because every worker that took it died
 */
@JsonPropertyOrder({"id", "input", "status", "output", "error", "attempts", "durationMs", "worker", "dead"})
public record ResultMessage(
        long id,
        String input,
        Status status,
        String output,
        String error,
        int attempts,
        long durationMs,
        String worker,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean dead,
        @JsonInclude(JsonInclude.Include.NON_NULL) String stderr) {

    public enum Status {
        @JsonProperty("succeeded") SUCCEEDED,
        @JsonProperty("failed") FAILED,
        /** Never run to the end: the batch stopped first (its failure policy, an unreadable source). The master's own. */
        @JsonProperty("cancelled") CANCELLED
    }

    public static ResultMessage succeeded(TaskMessage task, String output, long durationMs, String worker) {
        return succeeded(task, output, null, durationMs, worker);
    }

    /**
     * @param stderr the tail of the task's stderr to keep ({@code spec.run.keepStderr}), or null: a field of its
     *               own, so that {@code error} stays null for every success (a failure's error has the tail)
     */
    public static ResultMessage succeeded(TaskMessage task, String output, String stderr, long durationMs, String worker) {
        String kept = stderr == null || stderr.isEmpty() ? null : stderr;
        return new ResultMessage(task.id(), task.input(), Status.SUCCEEDED, output, null, task.attempt(), durationMs, worker,
                false, kept);
    }

    public static ResultMessage failed(TaskMessage task, String error, long durationMs, String worker) {
        return new ResultMessage(task.id(), task.input(), Status.FAILED, null, error, task.attempt(), durationMs, worker, false,
                null);
    }

    /**
     * A task dead-lettered by the queue (delivered to workers that all died before answering, or malformed).
     *
     * @param attempts how often it was run or handed to a worker, in all
     * @param error    what happened, for the user
     */
    public static ResultMessage dead(TaskMessage task, int attempts, String error) {
        return new ResultMessage(task.id(), task.input(), Status.FAILED, null, error, attempts, 0, null, true, null);
    }

    /**
     * A task whose input could not be read from the source (a line that is not UTF-8, {@code spec.tasks.sourceErrors:
     * failTask}): failed without running, so no attempt, no input and no worker. The master's own, never published.
     */
    public static ResultMessage unreadable(long id, String error) {
        return new ResultMessage(id, null, Status.FAILED, null, error, 0, 0, null, false, null);
    }

    /** A task the batch stopped before it had a result: {@code reason} says why. */
    public static ResultMessage cancelled(long id, String input, String reason) {
        return new ResultMessage(id, input, Status.CANCELLED, null, reason, 0, 0, null, false, null);
    }

    public boolean succeeded() {
        return status == Status.SUCCEEDED;
    }
}
