package io.taskbatch.plan;

import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchSpec;
import io.taskbatch.worker.RetryPolicy;
import java.time.Duration;
import java.util.Set;

/**
 * A TaskBatch that passed validation, with its durations parsed: what the master and workers run.
 *
 * @param concurrency task slots per worker asked for by the spec; 0 = one per core
 */
public record BatchPlan(String name, String namespace, TaskBatchSpec spec, RetryPolicy retry, Duration taskTimeout,
                        long maxFailedTasks, int concurrency) {

    /** The batch's identity in queue names, logs and contexts: {@code namespace/name}. */
    public String id() {
        return (namespace == null ? "local" : namespace) + "/" + name;
    }

    public static BatchPlan of(TaskBatch batch, Set<String> builtins) throws InvalidManifestException {
        return SpecValidator.validate(batch, builtins);
    }
}
