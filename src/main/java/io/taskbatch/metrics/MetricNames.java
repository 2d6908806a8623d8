package io.taskbatch.metrics;

/**
 * Every metric taskbatch registers, by its Micrometer name (Prometheus writes dots as underscores and adds
 * {@code _total} to counters, {@code _seconds} to timers). The chart's dashboard and alert rules name these.
 */
public final class MetricNames {
    /** Label of every taskbatch series: the batch's namespace ({@code local} on one machine). */
    public static final String NAMESPACE = "namespace";
    /** Label of every taskbatch series: the batch's name. */
    public static final String BATCH = "batch";

    // worker
    /** Counter, by {@code outcome}: succeeded, failed (for good), retried, released (given back unrun), malformed. */
    public static final String WORKER_TASKS = "taskbatch.worker.tasks";
    /** Timer (histogram), by {@code executor} (builtin, command, processPool): one attempt, start to its outcome. */
    public static final String TASK_DURATION = "taskbatch.task.duration";
    /** Gauge: the worker's task slots. */
    public static final String WORKER_SLOTS = "taskbatch.worker.slots";
    /** Gauge: slots running a task now. */
    public static final String WORKER_SLOTS_BUSY = "taskbatch.worker.slots.busy";
    /** Gauge: tasks delivered to this worker and waiting in a slot's buffer. */
    public static final String WORKER_TASKS_BUFFERED = "taskbatch.worker.tasks.buffered";
    /** Gauge: the prefetch of the worker's consumers, summed over its slots. */
    public static final String WORKER_PREFETCH = "taskbatch.worker.prefetch";
    /** Counter: results published to the results queue. */
    public static final String WORKER_RESULTS_PUBLISHED = "taskbatch.worker.results.published";
    /** Counter, by {@code confirm}: acked (the broker has the result; its task is acknowledged) or nacked (published again after a pause). */
    public static final String WORKER_RESULTS_CONFIRMED = "taskbatch.worker.results.confirmed";

    // master
    /** Gauge: the batch's task count; -1 while the source is still being counted. */
    public static final String MASTER_TASKS = "taskbatch.master.tasks";
    /** Counter: tasks published to the task queue. */
    public static final String MASTER_PUBLISHED = "taskbatch.master.tasks.published";
    /** Counter, by {@code outcome}: succeeded or failed, each task counted once. */
    public static final String MASTER_DONE = "taskbatch.master.tasks.done";
    /** Counter: retries of finished tasks (attempts beyond the first). */
    public static final String MASTER_RETRIED = "taskbatch.master.tasks.retried";
    /** Counter: tasks that failed without a result (their workers died: poison) and were dead-lettered. */
    public static final String MASTER_DEAD = "taskbatch.master.tasks.dead";
    /** Counter: second results of a task, dropped. */
    public static final String MASTER_DUPLICATES = "taskbatch.master.results.duplicates";
    /** Counter: results that were not of this batch (an id outside it, no status), dropped and never counted. */
    public static final String MASTER_REJECTED = "taskbatch.master.results.rejected";
    /** Gauge: tasks published and not done. */
    public static final String MASTER_IN_FLIGHT = "taskbatch.master.tasks.in.flight";
    /** Gauge: tasks done per second since the batch started. */
    public static final String MASTER_RATE = "taskbatch.master.rate";
    /** Gauge, by {@code queue} (tasks, retry, results, dead): messages ready in the batch's queues on the broker. */
    public static final String MASTER_QUEUE_DEPTH = "taskbatch.master.queue.messages";

    // operator
    /** Counter, by {@code result} (ok, error): reconciliations of a TaskBatch. */
    public static final String OPERATOR_RECONCILES = "taskbatch.operator.reconciles";
    /** Gauge, by {@code namespace} and {@code phase}: TaskBatches the operator sees in each phase. */
    public static final String OPERATOR_BATCHES = "taskbatch.operator.batches";

    private MetricNames() {
    }
}
