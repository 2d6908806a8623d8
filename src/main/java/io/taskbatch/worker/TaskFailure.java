package io.taskbatch.worker;

/**
 * A task attempt that failed for a reason worth reporting as is. {@code retryable == false} means
 * another attempt cannot help (for example an input that is not a number).
 */
public class TaskFailure extends Exception {
    private final boolean retryable;

    public TaskFailure(String message) {
        this(message, true);
    }

    public TaskFailure(String message, boolean retryable) {
        super(message, null, false, false);
        this.retryable = retryable;
    }

    public static TaskFailure permanent(String message) {
        return new TaskFailure(message, false);
    }

    public boolean retryable() {
        return retryable;
    }
}
