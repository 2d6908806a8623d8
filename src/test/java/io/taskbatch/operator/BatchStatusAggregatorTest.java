package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.cluster.MasterStatusWriter;
import io.taskbatch.plan.ManifestLoader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The operator's side of the status, from prepared Jobs: what {@code kubectl get tb} and {@code kubectl wait} see. */
class BatchStatusAggregatorTest {
    static final Instant T0 = Instant.parse("2026-12-02T10:00:00Z");
    static final Instant T1 = T0.plusSeconds(60);

    static TaskBatch batch(boolean suspend) throws Exception {
        TaskBatch b = ManifestLoader.parse("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: b, namespace: ns, generation: 3}
                spec:
                  tasks: {range: {from: 1, to: 10}}
                  run: {builtin: square}
                  suspend: %s
                """.formatted(suspend), Path.of("b.yaml")).batch();
        b.getMetadata().setGeneration(3L);
        return b;
    }

    static Job job(int parallelism, Integer active, Integer ready, String condition) {
        var builder = new JobBuilder().withNewMetadata().withName("j").endMetadata()
                .withNewSpec().withParallelism(parallelism).endSpec()
                .withNewStatus().withActive(active).withReady(ready);
        if (condition != null) builder.addNewCondition().withType(condition).withStatus("True").withReason("R").withMessage("m").endCondition();
        return builder.endStatus().build();
    }

    static Map<String, Condition> conditions(TaskBatchStatus s) {
        return s.getConditions().stream().collect(Collectors.toMap(Condition::getType, c -> c));
    }

    static TaskBatchStatus aggregate(TaskBatch b, String invalid, Job master, Job workers, Instant now) {
        return BatchStatusAggregator.aggregate(new BatchStatusAggregator.Observed(b, invalid, master, workers, now));
    }

    @Test
    void aRunningBatchShowsReadyOutOfDesiredWorkers() throws Exception {
        TaskBatchStatus s = aggregate(batch(false), null, job(1, 1, 1, null), job(3, 3, 2, null), T0);
        assertThat(s.getPhase()).isEqualTo("Running");
        assertThat(s.getWorkers()).isEqualTo("2/3");
        assertThat(s.getObservedGeneration()).isEqualTo(3);
        assertThat(conditions(s).get("Running").getStatus()).isEqualTo("True");
        assertThat(conditions(s).get("Complete").getStatus()).isEqualTo("False");
        assertThat(conditions(s).get("Valid").getObservedGeneration()).isEqualTo(3);
    }

    @Test
    void afterCompletionNoWorkerIsWantedAndALaggingReadyCountShowsNone() throws Exception {
        TaskBatch b = batch(false);
        b.setStatus(new TaskBatchStatus());
        b.getStatus().setOutcome("Succeeded");
        b.getStatus().setTotal(10L);
        b.getStatus().setSucceeded(10L);
        // the Job's ready count has not caught up with its pods ending: active is 0
        TaskBatchStatus s = aggregate(b, null, job(1, null, null, "Complete"), job(2, null, 2, null), T0);
        assertThat(s.getPhase()).isEqualTo("Succeeded");
        assertThat(s.getWorkers()).isEqualTo("0/0");
        assertThat(s.getDesiredWorkers()).isZero();
        assertThat(conditions(s).get("Complete").getStatus()).isEqualTo("True");
        assertThat(s.getCompletionTime()).isEqualTo(T0.toString());
        assertThat(s.getMessage()).isEqualTo("all 10 tasks done: 10 succeeded, 0 failed");
    }

    @Test
    void suspendThenResumeFlipsTheConditionsAndKeepsTheUnchangedOnesSince() throws Exception {
        TaskBatch b = batch(false);
        b.setStatus(aggregate(b, null, job(1, 1, 1, null), job(2, 2, 2, null), T0));

        TaskBatch suspended = batch(true);
        suspended.setStatus(aggregate(withStatus(suspended, b.getStatus()), null, job(1, 1, 1, null), job(2, null, null, "Suspended"), T1));
        TaskBatchStatus s = suspended.getStatus();
        assertThat(s.getPhase()).isEqualTo("Suspended");
        assertThat(conditions(s).get("Suspended").getStatus()).isEqualTo("True");
        assertThat(conditions(s).get("Suspended").getLastTransitionTime()).isEqualTo(T1.toString());
        assertThat(conditions(s).get("Valid").getLastTransitionTime()).as("unchanged: kept").isEqualTo(T0.toString());

        Instant t2 = T1.plusSeconds(60);
        TaskBatchStatus resumed = aggregate(withStatus(batch(false), s), null, job(1, 1, 1, null), job(2, 2, 2, null), t2);
        assertThat(resumed.getPhase()).isEqualTo("Running");
        assertThat(conditions(resumed).get("Suspended").getStatus()).isEqualTo("False");
        assertThat(conditions(resumed).get("Suspended").getLastTransitionTime()).isEqualTo(t2.toString());
        assertThat(conditions(resumed).get("Running").getLastTransitionTime()).isEqualTo(t2.toString());
        assertThat(resumed.getWorkers()).isEqualTo("2/2");
    }

    @Test
    void aCancelledBatchIsCancellingUntilTheMasterToldItsOutcomeThenFailedWithReasonCancelled() throws Exception {
        TaskBatch b = batch(true); // suspended too: a cancel still wants the master to finish the batch
        b.getSpec().setCancel(true);
        TaskBatchStatus cancelling = aggregate(b, null, job(1, 1, 1, null), job(2, null, null, "Suspended"), T0);
        assertThat(cancelling.getPhase()).isEqualTo("Running");
        assertThat(conditions(cancelling).get("Running").getReason()).isEqualTo("Cancelling");
        assertThat(conditions(cancelling).get("Suspended").getStatus()).isEqualTo("False");

        b.setStatus(new TaskBatchStatus());
        b.getStatus().setOutcome("Failed");
        b.getStatus().setOutcomeReason(MasterStatusWriter.CANCELLED);
        TaskBatchStatus cancelled = aggregate(b, null, job(1, null, null, "Complete"), job(2, null, null, "Suspended"), T1);
        assertThat(cancelled.getPhase()).isEqualTo("Failed");
        assertThat(conditions(cancelled).get("Failed").getReason()).isEqualTo("Cancelled");
        assertThat(cancelled.getMessage()).isEqualTo("the user cancelled the batch (spec.cancel)");

        // the failure policy decided first: the cancel came too late to be the reason
        b.getStatus().setOutcomeReason("3 tasks failed, more than maxFailedTasks=2; the batch stopped");
        assertThat(conditions(aggregate(b, null, job(1, null, null, "Complete"), null, T1)).get("Failed").getReason())
                .isEqualTo("TasksFailed");
    }

    @Test
    void aFailedMasterJobFailsTheBatchWithTheJobsReason() throws Exception {
        TaskBatchStatus s = aggregate(batch(false), null, job(1, null, null, "Failed"), job(2, 2, 2, null), T0);
        assertThat(s.getPhase()).isEqualTo("Failed");
        assertThat(conditions(s).get("Failed").getReason()).isEqualTo("MasterFailed");
        assertThat(s.getMessage()).isEqualTo("the master Job failed: R: m");
    }

    @Test
    void anInvalidSpecFailsWithoutJobs() throws Exception {
        TaskBatchStatus s = aggregate(batch(false), "spec.run.builtin: no handler named squre", null, null, T0);
        assertThat(s.getPhase()).isEqualTo("Failed");
        assertThat(conditions(s).get("Valid").getStatus()).isEqualTo("False");
        assertThat(conditions(s).get("Valid").getMessage()).contains("spec.run.builtin");
        assertThat(s.getWorkers()).isNull();
    }

    @Test
    void aFailedReconciliationSaysWhyAndKeepsTheRest() throws Exception {
        TaskBatch b = batch(false);
        b.setStatus(aggregate(b, null, job(1, 1, 1, null), job(2, 2, 2, null), T0));
        TaskBatchStatus s = BatchStatusAggregator.reconcileFailed(b, "jobs.batch is forbidden: ...", T1);
        assertThat(s.getPhase()).isEqualTo("Running");
        assertThat(s.getWorkers()).isEqualTo("2/2");
        Condition reconciled = conditions(s).get("Reconciled");
        assertThat(reconciled.getStatus()).isEqualTo("False");
        assertThat(reconciled.getReason()).isEqualTo("ReconcileError");
        assertThat(reconciled.getMessage()).isEqualTo("jobs.batch is forbidden: ...");
        assertThat(reconciled.getLastTransitionTime()).isEqualTo(T1.toString());
        assertThat(conditions(s).get("Running").getLastTransitionTime()).isEqualTo(T0.toString());

        TaskBatchStatus healed = aggregate(withStatus(batch(false), s), null, job(1, 1, 1, null), job(2, 2, 2, null), T1.plusSeconds(5));
        assertThat(conditions(healed).get("Reconciled").getStatus()).isEqualTo("True");
    }

    static TaskBatch withStatus(TaskBatch b, TaskBatchStatus s) {
        b.setStatus(s);
        return b;
    }
}
