package io.taskbatch.worker;

import io.taskbatch.queue.TaskMessage;

/**
 * Runs one attempt of a task on the calling thread, with the task's {@link TaskContext} bound.
 * Returns the task's output; a {@link TaskFailure} (or any other exception) fails the attempt.
 * The attempt's deadline is {@code TaskContext.require().deadlineNanos()}: executors that wait on
 * something outside the JVM enforce it themselves; in-JVM work is interrupted when it passes.
 */
public interface TaskExecutor extends AutoCloseable {

    String execute(TaskMessage task) throws Exception;

    /**
     * Like {@link #execute}, with what a succeeded result keeps besides the output: the tail of
     * the task's stderr, when {@code spec.run.keepStderr} asks for it (else null).
     */
    default Output run(TaskMessage task) throws Exception {
        return new Output(execute(task), null);
    }

    /**
     * @param text   the task's output
     * @param stderr the tail of its stderr to keep in the result, or null
     */
    record Output(String text, String stderr) {
    }

    /** True when tasks mostly wait (sleeps, network) rather than compute: slots may be virtual threads. */
    default boolean waitsMostly() {
        return false;
    }

    /** Stops whatever the executor keeps alive between tasks (child processes). */
    @Override
    default void close() {
    }
}
