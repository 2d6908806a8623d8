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

    /**
     * True for handlers whose work is heavy computing in this JVM that the optimizing compiler (C2) speeds up several
     * times (a digest's intrinsics): their worker processes keep C2. Every other worker only moves messages and
     * children's output, where C2's compiling costs more CPU than it saves in a batch of ordinary size.
     */
    default boolean needsOptimizingCompiler() {
        return false;
    }
}
