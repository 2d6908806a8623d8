package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.testing.MockCluster;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The two status writers each patch their own fields and never undo the other's. */
@EnableKubernetesMockClient(crud = true)
class StatusPatchesTest {
    static KubernetesClient client;

    @BeforeEach
    void crd() {
        client.apiextensions().v1().customResourceDefinitions().load(MockCluster.CRD.toFile()).createOr(r -> r.update());
    }

    @Test
    void ownersAreDisjointAndCoverEveryStatusField() {
        assertThat(TaskBatchStatus.OPERATOR_FIELDS).doesNotContainAnyElementsOf(TaskBatchStatus.MASTER_FIELDS);
        Set<String> all = new HashSet<>(TaskBatchStatus.OPERATOR_FIELDS);
        all.addAll(TaskBatchStatus.MASTER_FIELDS);
        Set<String> properties = new HashSet<>();
        new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(filled()).fieldNames().forEachRemaining(properties::add);
        assertThat(all).containsExactlyInAnyOrderElementsOf(properties);
    }

    @Test
    void eachWriterReplacesItsOwnFieldsAndKeepsTheOthers() {
        TaskBatch batch = MockCluster.create(client, "sp", RECONCILED);
        TaskBatchStatus op = new TaskBatchStatus();
        op.setPhase("Pending");
        op.setConditions(List.of(new ConditionBuilder().withType("Valid").withStatus("True").withReason("SpecValid").build()));
        StatusPatches.apply(client, "sp", "b", StatusPatches.patch(op, TaskBatchStatus.OPERATOR_FIELDS));

        TaskBatchStatus master = new TaskBatchStatus();
        master.setSucceeded(5L);
        master.setPhase("Bogus"); // not the master's field: must not be written
        StatusPatches.apply(client, "sp", "b", StatusPatches.patch(master, TaskBatchStatus.MASTER_FIELDS));

        op.setPhase("Running");
        op.setConditions(List.of(new ConditionBuilder().withType("Valid").withStatus("False").withReason("Changed").build()));
        op.setSucceeded(0L); // a stale count in the operator's copy: must not be written
        StatusPatches.apply(client, "sp", "b", StatusPatches.patch(op, TaskBatchStatus.OPERATOR_FIELDS));

        TaskBatchStatus now = client.resource(batch).get().getStatus();
        assertThat(now.getPhase()).isEqualTo("Running");
        assertThat(now.getSucceeded()).isEqualTo(5L);
        assertThat(now.getConditions()).as("a list is replaced, not appended to").singleElement()
                .satisfies(c -> assertThat(c.getReason()).isEqualTo("Changed"));
    }

    static final String RECONCILED = """
            apiVersion: taskbatch.io/v1alpha1
            kind: TaskBatch
            metadata: {name: b}
            spec:
              tasks: {range: {from: 1, to: 3}}
              run: {builtin: square}
            """;

    private static TaskBatchStatus filled() {
        TaskBatchStatus s = new TaskBatchStatus();
        s.setPhase("x"); s.setConditions(List.of()); s.setMessage("x"); s.setOutcome("x"); s.setOutcomeReason("x");
        s.setTotal(1L); s.setPublished(1L); s.setSucceeded(1L); s.setFailed(1L); s.setRetried(1L); s.setDead(1L);
        s.setDone("x"); s.setDesiredWorkers(1); s.setReadyWorkers(1); s.setWorkers("x"); s.setStartTime("x");
        s.setCompletionTime("x"); s.setRate("x"); s.setResults("x"); s.setFailedTasks(List.of()); s.setObservedGeneration(1L);
        return s;
    }
}
