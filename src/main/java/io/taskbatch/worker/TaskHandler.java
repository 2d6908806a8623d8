package io.taskbatch.worker;

/**
 * An in-JVM builtin, found by {@link #name()}. Implementations are CDI beans; the running task's
 * id, attempt and deadline are in {@link TaskContext#require()}.
 */
public interface TaskHandler {

    String name();

    /** Returns the task's output, or throws (a {@link TaskFailure} for a clean message). */
    String handle(String input) throws Exception;

    /** True for handlers that mostly wait: their slots run on virtual threads. */
    default boolean waitsMostly() {
        return false;
    }
}
