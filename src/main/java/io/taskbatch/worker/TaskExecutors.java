package io.taskbatch.worker;

import io.taskbatch.api.RunSpec;
import java.nio.file.Path;
import java.util.Map;

/** Turns a validated {@code spec.run} into an executor. */
public final class TaskExecutors {
    private TaskExecutors() {
    }

    /**
     * @param slots   task slots of the worker (the most child processes a pool keeps)
     * @param workDir working directory of child processes; null = the worker's own
     */
    public static TaskExecutor create(RunSpec run, TaskHandlers handlers, int slots, Path workDir,
                                      Map<String, String> env, String batch) {
        if (run.getBuiltin() != null) {
            return new BuiltinExecutor(handlers.find(run.getBuiltin()).orElseThrow(
                    () -> new IllegalArgumentException("unknown builtin " + run.getBuiltin())));
        }
        if (run.getCommand() != null) {
            return new CommandExecutor(run.getCommand(), workDir, env, TaskStderr.of(run));
        }
        RunSpec.ProcessPoolSpec pool = run.getProcessPool();
        return new ProcessPoolExecutor(pool.getCommand(), slots, pool.getMaxTasksPerProcess(), workDir, env, batch,
                TaskStderr.of(run));
    }

    /**
     * Whether a worker running {@code run} gains from the optimizing compiler: only a builtin that computes in the JVM
     * ({@link TaskHandler#needsOptimizingCompiler()}); commands and process pools run their work in other processes.
     */
    public static boolean needsOptimizingCompiler(RunSpec run, TaskHandlers handlers) {
        return run.getBuiltin() != null
                && handlers.find(run.getBuiltin()).map(TaskHandler::needsOptimizingCompiler).orElse(false);
    }
}
