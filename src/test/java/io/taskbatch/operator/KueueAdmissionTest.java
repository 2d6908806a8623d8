package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.plan.ManifestLoader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which queue a batch or Job names, what passes to the worker Job, and what the operator leaves to Kueue. */
class KueueAdmissionTest {
    static TaskBatch batch(String metadataExtra, boolean suspend) throws Exception {
        return ManifestLoader.parse("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: b
                  namespace: ns
                %s
                spec:
                  tasks: {range: {from: 1, to: 10}}
                  run: {builtin: square}
                  suspend: %s
                """.formatted(metadataExtra, suspend), Path.of("b.yaml")).batch();
    }

    static Job job(String name, Map<String, String> labels, Boolean suspend, String condition) {
        var b = new JobBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withNewSpec().withParallelism(3).withSuspend(suspend).endSpec().withNewStatus();
        if (condition != null) b.addNewCondition().withType(condition).withStatus("True").endCondition();
        return b.endStatus().build();
    }

    @Test
    void theQueueLabelWinsOverTheDeprecatedAnnotationAndThePriorityClassPassesOnlyWithAQueue() throws Exception {
        TaskBatch both = batch("  labels: {kueue.x-k8s.io/queue-name: team-a, kueue.x-k8s.io/priority-class: high}\n"
                + "  annotations: {kueue.x-k8s.io/queue-name: old}", false);
        assertThat(KueueAdmission.jobLabels(both)).containsExactlyInAnyOrderEntriesOf(
                Map.of(KueueAdmission.QUEUE_NAME, "team-a", KueueAdmission.PRIORITY_CLASS, "high"));
        TaskBatch annotated = batch("  annotations: {kueue.x-k8s.io/queue-name: old}", false);
        assertThat(KueueAdmission.jobLabels(annotated)).as("passed on as the label").containsExactlyEntriesOf(
                Map.of(KueueAdmission.QUEUE_NAME, "old"));
        TaskBatch priorityOnly = batch("  labels: {kueue.x-k8s.io/priority-class: high}", false);
        assertThat(KueueAdmission.jobLabels(priorityOnly)).as("no queue, nothing of Kueue's").isEmpty();
    }

    @Test
    void aJobWithAQueueNameIsKueuesAndTheOperatorLeavesItAlone() {
        // BatchJobDependent.match reports such a Job as matching: its suspend and pod count are never updated
        assertThat(KueueAdmission.holds(job("w", Map.of(KueueAdmission.QUEUE_NAME, "q"), false, null))).isTrue();
        assertThat(KueueAdmission.holds(job("m", Map.of(KueueAdmission.QUEUE_NAME, "default"), true, null)))
                .as("a queue Kueue's webhook defaulted").isTrue();
        assertThat(KueueAdmission.holds(job("w", Map.of(), false, null))).isFalse();
        assertThat(KueueAdmission.holds(null)).as("not created yet").isFalse();
    }

    @Test
    void aBatchWhoseJobKueueHoldsIsPendingWaitingForAdmissionNotSuspended() throws Exception {
        TaskBatch b = batch("  labels: {kueue.x-k8s.io/queue-name: team-a}", false);
        Job master = job("b-master", Map.of(), false, null);
        master.getStatus().setActive(1);
        Job workers = job("b-workers", Map.of(KueueAdmission.QUEUE_NAME, "team-a"), true, null);
        TaskBatchStatus s = BatchStatusAggregator.aggregate(new BatchStatusAggregator.Observed(b, null, master, workers, Instant.now()));
        assertThat(s.getPhase()).isEqualTo("Pending");
        assertThat(s.getMessage()).startsWith("waiting for Kueue to admit the worker Job b-workers in LocalQueue team-a");
        assertThat(s.getConditions()).filteredOn(c -> c.getType().equals("Suspended")).extracting(Condition::getStatus)
                .containsExactly("False");

        Job done = job("b-workers", Map.of(KueueAdmission.QUEUE_NAME, "team-a"), true, "Complete");
        assertThat(KueueAdmission.waitingForAdmission(done)).as("a finished Job waits for nothing").isFalse();
        workers.getSpec().setSuspend(false);
        s = BatchStatusAggregator.aggregate(new BatchStatusAggregator.Observed(b, null, master, workers, Instant.now()));
        assertThat(s.getPhase()).as("admitted").isEqualTo("Running");
    }
}
