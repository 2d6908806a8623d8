package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static io.taskbatch.operator.TaskBatchReconcilerTest.condition;
import static io.taskbatch.operator.TaskBatchReconcilerTest.isTrue;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cli.CancelCommand;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.InjectApiServer;
import io.taskbatch.testing.MockCluster;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A batch labelled {@code kueue.x-k8s.io/queue-name} on the RBAC-enforcing API server, with the test playing Kueue's
 * part: admitting a Job is unsuspending it (and injecting the flavor's node selector), as Kueue's job controller
 * does. What the operator must do is leave that to Kueue.
 */
@QuarkusTest
@TestProfile(KueueBatchTest.OwnApiServer.class)
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
class KueueBatchTest {
    /**
     * A profile of its own: Quarkus then restarts the application for this class, so the operator talks to this
     * class's API server and not to the one the previous class's resource has closed.
     */
    public static class OwnApiServer implements QuarkusTestProfile {
    }

    static final Duration WAIT = Duration.ofSeconds(20);

    @InjectApiServer
    ApiServer apiServer;

    KubernetesClient client;

    @Inject
    Operator operator;

    String ns;

    @BeforeEach
    void setUp() {
        client = apiServer.adminClient();
        MockCluster.start(client, operator);
        ns = MockCluster.namespace(client, "kueue");
        // the batches below never reach a broker: their pods do not run here
        MockCluster.brokerSecret(client, ns, "taskbatch-broker", "amqp://guest:guest@127.0.0.1:1/");
    }

    static String batch(String name, String labels) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                  labels: {%s}
                spec:
                  tasks:
                    range: {from: 1, to: 100}
                  run:
                    builtin: square
                  workers:
                    replicas: 3
                    cpu: "1"
                """.formatted(name, labels);
    }

    TaskBatch get(String name) {
        return client.resources(TaskBatch.class).inNamespace(ns).withName(name).get();
    }

    Job job(String name) {
        return client.batch().v1().jobs().inNamespace(ns).withName(name).get();
    }

    static boolean suspended(Job job) {
        return Boolean.TRUE.equals(job.getSpec().getSuspend());
    }

    /** Plays the Job controller's part: the master pod runs. */
    void masterRunning(String batch) {
        Job master = job(batch + "-master");
        master.setStatus(new JobStatusBuilder().withActive(1).withReady(1).build());
        client.batch().v1().jobs().inNamespace(ns).resource(master).updateStatus();
    }

    /** Plays Kueue's part on admission: unsuspends the Job and puts the flavor's node selector on its pods. */
    void admit(String job) {
        client.batch().v1().jobs().inNamespace(ns).withName(job).patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"suspend\":false,\"template\":{\"spec\":{\"nodeSelector\":{\"pool\":\"flavor-a\"}}}}}");
    }

    /** A change of the spec, and the reconciliation that has seen it (its observedGeneration in the status). */
    void reconciledAfter(String name, String specPatch) {
        long generation = client.resources(TaskBatch.class).inNamespace(ns).withName(name)
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":" + specPatch + "}").getMetadata().getGeneration();
        await().atMost(WAIT).until(() -> get(name).getStatus().getObservedGeneration() == generation);
    }

    List<String> events(String batch) {
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> batch.equals(e.getInvolvedObject().getName())).map(Event::getReason).toList();
    }

    @Test
    void aQueuedWorkerJobWaitsSuspendedUntilKueueAdmitsItAndKeepsItsCount() {
        MockCluster.create(client, ns, batch("queued", "kueue.x-k8s.io/queue-name: team-a, kueue.x-k8s.io/priority-class: high"));
        MockCluster.create(client, ns, batch("plain", ""));
        await().atMost(WAIT).until(() -> job("queued-workers") != null && job("queued-master") != null
                && job("plain-workers") != null);

        Job workers = job("queued-workers");
        assertThat(workers.getMetadata().getLabels()).containsEntry("kueue.x-k8s.io/queue-name", "team-a")
                .containsEntry("kueue.x-k8s.io/priority-class", "high");
        assertThat(suspended(workers)).as("created suspended: Kueue admits it by unsuspending it").isTrue();
        assertThat(workers.getSpec().getParallelism()).isEqualTo(3);
        Job master = job("queued-master");
        assertThat(master.getMetadata().getLabels()).as("the master is not queued").doesNotContainKey("kueue.x-k8s.io/queue-name");
        assertThat(suspended(master)).isFalse();
        Job plain = job("plain-workers");
        assertThat(plain.getMetadata().getLabels()).doesNotContainKeys("kueue.x-k8s.io/queue-name", "kueue.x-k8s.io/priority-class");
        assertThat(suspended(plain)).as("a batch without a queue runs at once, as before").isFalse();

        masterRunning("queued");
        await().atMost(WAIT).until(() -> "WaitingForAdmission".equals(condition(get("queued"), "Running").getReason()));
        TaskBatch waiting = get("queued");
        assertThat(waiting.getStatus().getPhase()).isEqualTo("Pending");
        assertThat(waiting.getStatus().getMessage()).isEqualTo("waiting for Kueue to admit the worker Job queued-workers in "
                + "LocalQueue team-a (kubectl get workloads -n " + ns + " shows it)");
        assertThat(isTrue(waiting, "Suspended")).as("not the user's suspend").isFalse();

        // a change of size while queued: the Job keeps the count Kueue queued it with, and stays suspended
        reconciledAfter("queued", "{\"workers\":{\"replicas\":5}}");
        assertThat(suspended(job("queued-workers"))).as("never unsuspended by the operator").isTrue();
        assertThat(job("queued-workers").getSpec().getParallelism()).isEqualTo(3);
        assertThat(get("queued").getStatus().getPhase()).isEqualTo("Pending");

        admit("queued-workers");
        await().atMost(WAIT).until(() -> "Running".equals(get("queued").getStatus().getPhase()));
        reconciledAfter("queued", "{\"workers\":{\"replicas\":6}}");
        workers = job("queued-workers");
        assertThat(suspended(workers)).as("not suspended again by the operator").isFalse();
        assertThat(workers.getSpec().getParallelism()).as("a change would make Kueue evict and re-queue it").isEqualTo(3);
        assertThat(workers.getSpec().getTemplate().getSpec().getNodeSelector()).as("what Kueue injected stays")
                .containsEntry("pool", "flavor-a");
        assertThat(isTrue(get("queued"), "Running")).isTrue();
        assertThat(events("queued")).contains("Started").doesNotContain("Resized");
    }

    @Test
    void suspendingAQueuedBatchDeletesItsWorkerJobAndResumingQueuesItAgain() {
        MockCluster.create(client, ns, batch("pause", "kueue.x-k8s.io/queue-name: team-a"));
        await().atMost(WAIT).until(() -> job("pause-workers") != null && job("pause-master") != null);
        masterRunning("pause");
        admit("pause-workers");
        await().atMost(WAIT).until(() -> "Running".equals(get("pause").getStatus().getPhase()));

        // an admitted Job the operator suspended Kueue would unsuspend: the Job goes, and its Workload and quota with it
        MockCluster.suspend(client, ns, "pause", true);
        await().atMost(WAIT).until(() -> job("pause-workers") == null && isTrue(get("pause"), "Suspended"));
        assertThat(get("pause").getStatus().getPhase()).isEqualTo("Suspended");
        assertThat(suspended(job("pause-master"))).as("the master keeps its ledger").isFalse();
        reconciledAfter("pause", "{\"workers\":{\"replicas\":4}}");
        assertThat(job("pause-workers")).as("none while suspended").isNull();

        MockCluster.suspend(client, ns, "pause", false);
        await().atMost(WAIT).until(() -> job("pause-workers") != null
                && "WaitingForAdmission".equals(condition(get("pause"), "Running").getReason()));
        Job again = job("pause-workers");
        assertThat(suspended(again)).as("queued again").isTrue();
        assertThat(again.getMetadata().getLabels()).containsEntry("kueue.x-k8s.io/queue-name", "team-a");
        assertThat(again.getSpec().getParallelism()).as("sized when queued anew").isEqualTo(4);
        assertThat(isTrue(get("pause"), "Suspended")).isFalse();

        admit("pause-workers");
        await().atMost(WAIT).until(() -> "Running".equals(get("pause").getStatus().getPhase()));
    }

    @Test
    void cancellingAQueuedBatchDeletesItsWorkerJob() {
        MockCluster.create(client, ns, batch("stop", "kueue.x-k8s.io/queue-name: team-a"));
        await().atMost(WAIT).until(() -> job("stop-workers") != null && job("stop-master") != null);
        client.resources(TaskBatch.class).inNamespace(ns).withName("stop").patch(PatchContext.of(PatchType.JSON_MERGE),
                CancelCommand.PATCH);
        // the status is written after the Job is deleted, in the same reconciliation
        await().atMost(WAIT).until(() -> job("stop-workers") == null
                && "Cancelling".equals(condition(get("stop"), "Running").getReason()));
        assertThat(job("stop-master")).as("the master marks what is left cancelled").isNotNull();
    }

    @Test
    void aMasterJobKueueHoldsIsNotUnsuspendedAndTheBatchSaysWhatItWaitsFor() {
        MockCluster.create(client, ns, batch("held", ""));
        await().atMost(WAIT).until(() -> job("held-master") != null);
        // what Kueue does to a Job in a namespace whose LocalQueue "default" it puts on every Job
        client.batch().v1().jobs().inNamespace(ns).withName("held-master").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"metadata\":{\"labels\":{\"kueue.x-k8s.io/queue-name\":\"default\"}},\"spec\":{\"suspend\":true}}");
        await().atMost(WAIT).until(() -> "WaitingForAdmission".equals(condition(get("held"), "Running").getReason()));
        assertThat(get("held").getStatus().getMessage()).startsWith("waiting for Kueue to admit the master Job held-master "
                + "in LocalQueue default");
        reconciledAfter("held", "{\"workers\":{\"replicas\":2}}");
        assertThat(suspended(job("held-master"))).isTrue();
        assertThat(job("held-master").getMetadata().getLabels()).containsAllEntriesOf(Map.of("kueue.x-k8s.io/queue-name", "default"));
    }
}
