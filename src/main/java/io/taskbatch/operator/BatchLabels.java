package io.taskbatch.operator;

import io.taskbatch.api.TaskBatch;
import java.util.Map;

/** The labels and names of what the operator creates for a batch: one place, so selectors and objects agree. */
public final class BatchLabels {
    public static final String NAME = "app.kubernetes.io/name";
    public static final String INSTANCE = "app.kubernetes.io/instance";
    public static final String COMPONENT = "app.kubernetes.io/component";
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String BATCH = "taskbatch.io/batch";

    public static final String APP = "taskbatch";
    public static final String OPERATOR = "taskbatch-operator";
    public static final String MASTER = "master";
    public static final String WORKER = "worker";

    /** Selects everything this operator manages (the informers of owned resources watch only these). */
    public static final String MANAGED_SELECTOR = MANAGED_BY + "=" + OPERATOR;

    private BatchLabels() {
    }

    public static Map<String, String> of(TaskBatch batch, String component) {
        return Map.of(NAME, APP, INSTANCE, batch.getMetadata().getName(), COMPONENT, component,
                MANAGED_BY, OPERATOR, BATCH, batch.getMetadata().getName());
    }

    /** The master Job of the batch's current round ({@link BatchRounds}). */
    public static String masterJob(TaskBatch batch) {
        return BatchRounds.name(batch.getMetadata().getName() + "-master", batch);
    }

    /** The worker Job of the batch's current round. */
    public static String workerJob(TaskBatch batch) {
        return BatchRounds.name(batch.getMetadata().getName() + "-workers", batch);
    }

    /** The master's ServiceAccount, Role and RoleBinding share this name. */
    public static String masterIdentity(TaskBatch batch) {
        return batch.getMetadata().getName() + "-master";
    }

    public static String resultsConfigMap(TaskBatch batch) {
        return batch.getMetadata().getName() + "-results";
    }
}
