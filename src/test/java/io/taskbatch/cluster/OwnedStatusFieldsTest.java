package io.taskbatch.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.taskbatch.api.TaskBatchStatus;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What each status owner sends: its own fields, all of them, and nothing of the other's. */
class OwnedStatusFieldsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void ownersAreDisjointAndCoverEveryStatusField() {
        assertThat(TaskBatchStatus.OPERATOR_FIELDS).doesNotContainAnyElementsOf(TaskBatchStatus.MASTER_FIELDS);
        Set<String> all = new HashSet<>(TaskBatchStatus.OPERATOR_FIELDS);
        all.addAll(TaskBatchStatus.MASTER_FIELDS);
        Set<String> properties = new HashSet<>();
        JSON.valueToTree(filled()).fieldNames().forEachRemaining(properties::add);
        assertThat(all).containsExactlyInAnyOrderElementsOf(properties);
    }

    @Test
    void aPatchCarriesExactlyTheOwnersFieldsAndNullsTheUnsetOnes() throws Exception {
        TaskBatchStatus master = new TaskBatchStatus();
        master.setSucceeded(5L);
        master.setPhase("Bogus"); // not the master's field: never sent
        JsonNode status = JSON.readTree(OwnedStatusFields.of(master, TaskBatchStatus.MASTER_FIELDS).mergePatch()).get("status");

        Set<String> sent = new HashSet<>();
        status.fieldNames().forEachRemaining(sent::add);
        assertThat(sent).isEqualTo(TaskBatchStatus.MASTER_FIELDS);
        assertThat(status.get("succeeded").asLong()).isEqualTo(5);
        assertThat(status.get("outcome").isNull()).as("an unset owned field is removed, not left stale").isTrue();
    }

    @Test
    void aListIsSentWholeSoTheServerReplacesIt() throws Exception {
        TaskBatchStatus op = new TaskBatchStatus();
        op.setConditions(List.of(new ConditionBuilder().withType("Valid").withStatus("True").build(),
                new ConditionBuilder().withType("Running").withStatus("False").build()));
        JsonNode status = JSON.readTree(OwnedStatusFields.of(op, TaskBatchStatus.OPERATOR_FIELDS).mergePatch()).get("status");
        assertThat(status.get("conditions")).hasSize(2);
    }

    @Test
    void changesNothingOnlyWhenEveryOwnedFieldIsAlreadyThere() {
        TaskBatchStatus current = filled();
        assertThat(OwnedStatusFields.of(current, TaskBatchStatus.OPERATOR_FIELDS).changeNothingIn(current)).isTrue();

        TaskBatchStatus countsMoved = filled();
        countsMoved.setSucceeded(99L); // the master's field: the operator's write is still a no-op
        assertThat(OwnedStatusFields.of(countsMoved, TaskBatchStatus.OPERATOR_FIELDS).changeNothingIn(current)).isTrue();
        assertThat(OwnedStatusFields.of(countsMoved, TaskBatchStatus.MASTER_FIELDS).changeNothingIn(current)).isFalse();

        TaskBatchStatus cleared = filled();
        cleared.setCompletionTime(null);
        assertThat(OwnedStatusFields.of(cleared, TaskBatchStatus.OPERATOR_FIELDS).changeNothingIn(current))
                .as("removing a field is a change").isFalse();
        assertThat(OwnedStatusFields.of(new TaskBatchStatus(), TaskBatchStatus.MASTER_FIELDS).changeNothingIn(null)).isTrue();
    }

    static TaskBatchStatus filled() {
        TaskBatchStatus s = new TaskBatchStatus();
        s.setPhase("x"); s.setConditions(List.of()); s.setMessage("x"); s.setOutcome("x"); s.setOutcomeReason("x");
        s.setTotal(1L); s.setPublished(1L); s.setSucceeded(1L); s.setFailed(1L); s.setRetried(1L); s.setDead(1L); s.setCancelled(1L); s.setRound(1);
        s.setDone("x"); s.setDesiredWorkers(1); s.setReadyWorkers(1); s.setWorkers("x"); s.setStartTime("x");
        s.setCompletionTime("x"); s.setRate("x"); s.setEta("x"); s.setResults("x"); s.setFailedTasks(List.of()); s.setObservedGeneration(1L);
        return s;
    }
}
