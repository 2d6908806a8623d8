package io.taskbatch.master;

/** How a batch ended. {@code reason} says why it failed; null when it succeeded. */
public record BatchOutcome(boolean succeeded, String reason, Progress progress) {
}
