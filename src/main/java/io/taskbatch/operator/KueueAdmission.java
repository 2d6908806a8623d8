package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.taskbatch.api.TaskBatch;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the operator does for Kueue (kueue.x-k8s.io), which admits a batch/v1 Job by unsuspending it.
 *
 * <p>A batch labelled {@value #QUEUE_NAME} gets that label (and {@value #PRIORITY_CLASS}) on its worker Job, created
 * suspended. From then on the Job is Kueue's to suspend and unsuspend: a Job that carries a queue name is never
 * updated by the operator (Kueue evicts and re-queues a Job whose pod count changes, unsuspends again an admitted Job
 * that anyone else suspends, and injects the flavor's node selectors into its pod template). {@code spec.suspend} and {@code spec.cancel} of such a batch delete its worker Job, which Kueue honours
 * by deleting its Workload and freeing the quota; resuming creates it anew, queued again. The master is not queued:
 * one small pod that holds the ledger, which a queued master would leave the admitted workers waiting for.
 */
public final class KueueAdmission {
    /** The LocalQueue a Job is submitted to (a label; older Kueue releases also read an annotation of that name). */
    public static final String QUEUE_NAME = "kueue.x-k8s.io/queue-name";
    /** The WorkloadPriorityClass of the Job's Workload. */
    public static final String PRIORITY_CLASS = "kueue.x-k8s.io/priority-class";

    private KueueAdmission() {
    }

    /** The LocalQueue named by the label, else by the deprecated annotation of the same key. */
    public static Optional<String> queue(HasMetadata object) {
        if (object == null) return Optional.empty();
        String label = object.getMetadata().getLabels() == null ? null : object.getMetadata().getLabels().get(QUEUE_NAME);
        if (label != null && !label.isBlank()) return Optional.of(label);
        String annotation = object.getMetadata().getAnnotations() == null ? null
                : object.getMetadata().getAnnotations().get(QUEUE_NAME);
        return annotation == null || annotation.isBlank() ? Optional.empty() : Optional.of(annotation);
    }

    /** The labels a queued batch passes to its worker Job: the queue (always as the label) and the priority class. */
    static Map<String, String> jobLabels(TaskBatch batch) {
        Map<String, String> labels = new LinkedHashMap<>();
        queue(batch).ifPresent(q -> labels.put(QUEUE_NAME, q));
        String priority = batch.getMetadata().getLabels() == null ? null : batch.getMetadata().getLabels().get(PRIORITY_CLASS);
        if (priority != null && !labels.isEmpty()) labels.put(PRIORITY_CLASS, priority);
        return labels;
    }

    /**
     * Whether Kueue manages this existing Job: it carries a queue name, ours or one Kueue's webhook defaulted (a
     * LocalQueue named {@code default} in the namespace). Its {@code suspend} and pod count are then Kueue's.
     */
    static boolean holds(Job job) {
        return queue(job).isPresent();
    }

    /** Whether the batch's worker Job is (or would be) Kueue's: the batch names a queue, or its Job has one. */
    static boolean queued(TaskBatch batch, Job workers) {
        return queue(batch).isPresent() || holds(workers);
    }

    /** A Kueue-held Job still suspended, not finished: waiting for Kueue to admit it (again, after a preemption). */
    static boolean waitingForAdmission(Job job) {
        return holds(job) && Boolean.TRUE.equals(job.getSpec().getSuspend()) && !BatchStatusAggregator.jobFinished(job);
    }
}
