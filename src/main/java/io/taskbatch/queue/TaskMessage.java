package io.taskbatch.queue;

import java.util.Map;

/**
 * One task on the wire: small by design (a number, a string, a path).
 *
 * @param id      the task's position in its source: unique in the batch, stable across retries and restarts
 * @param attempt 1 for the first run, incremented by each retry
 * @param input   the task's input as given by the source
 * @param headers trace context and similar; never null
 */
public record TaskMessage(long id, int attempt, String input, Map<String, String> headers) {
    public TaskMessage {
        if (id < 0) throw new IllegalArgumentException("task id must be >= 0, was " + id);
        if (attempt < 1) throw new IllegalArgumentException("attempt must be >= 1, was " + attempt);
        if (input == null) throw new IllegalArgumentException("task input must not be null");
        headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    public static TaskMessage first(long id, String input) {
        return new TaskMessage(id, 1, input, Map.of());
    }

    public TaskMessage nextAttempt() {
        return new TaskMessage(id, attempt + 1, input, headers);
    }
}
