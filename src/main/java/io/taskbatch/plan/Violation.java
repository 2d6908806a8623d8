package io.taskbatch.plan;

/** One thing wrong with a manifest: the field (as a path like {@code spec.retry.backoff}) and what to fix. */
public record Violation(String field, String message) {
    @Override
    public String toString() {
        return field + ": " + message;
    }
}
