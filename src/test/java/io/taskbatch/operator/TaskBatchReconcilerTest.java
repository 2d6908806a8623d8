package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cli.CancelCommand;
import io.taskbatch.cluster.ResultsConfigMapWriter;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.cluster.MasterStatusWriter;
import io.taskbatch.cluster.OwnedStatusFields;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Progress;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.InjectApiServer;
import io.taskbatch.testing.MockCluster;
import io.taskbatch.testing.RabbitExtension;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import org.junit.jupiter.api.extension.RegisterExtension;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator, as its ServiceAccount, against the RBAC-enforcing API server ({@link ApiServerResource}): what it
 * creates and what the status says. The master's status writes go through the master's own identity.
 */
@QuarkusTest
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
class TaskBatchReconcilerTest {
    static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    @InjectApiServer
    ApiServer apiServer;

    /** The user's client (kubectl as cluster admin). */
    KubernetesClient client;

    @Inject
    Operator operator;

    String ns;

    @BeforeEach
    void setUp() {
        client = apiServer.adminClient();
        MockCluster.start(client, operator);
        ns = MockCluster.namespace(client, "rec");
        MockCluster.brokerSecret(client, ns, "taskbatch-broker", RABBIT.node().amqpUri());
    }

    static String squares(String name, String extra) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                spec:
                  tasks:
                    range: {from: 1, to: 100}
                  run:
                    builtin: square
                  workers:
                    replicas: 3
                    cpu: "2"
                %s
                """.formatted(name, extra == null ? "" : extra);
    }

    TaskBatch get(String name) {
        return client.resources(TaskBatch.class).inNamespace(ns).withName(name).get();
    }

    Job job(String name) {
        return client.batch().v1().jobs().inNamespace(ns).withName(name).get();
    }

    static Condition condition(TaskBatch batch, String type) {
        if (batch == null || batch.getStatus() == null || batch.getStatus().getConditions() == null) return null;
        return batch.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    static boolean isTrue(TaskBatch batch, String type) {
        Condition c = condition(batch, type);
        return c != null && "True".equals(c.getStatus());
    }

    /** Plays the Job controller's part the mock server does not: the master pod runs. */
    void masterRunning(String batch) {
        // the operator creates the batch's Jobs one after the other: the master's may come after the workers'
        await().atMost(WAIT).until(() -> job(batch + "-master") != null);
        Job master = job(batch + "-master");
        master.setStatus(new JobStatusBuilder().withActive(1).withReady(1).build());
        client.batch().v1().jobs().inNamespace(ns).resource(master).updateStatus();
    }

    /** The status writer of a batch's master pod, under the master's ServiceAccount. */
    MasterStatusWriter masterWriter(String batch, MasterStatusWriter.ResultsPublisher results) {
        return new MasterStatusWriter(apiServer.clientAs(ns, batch + "-master"), ns, batch, "x", results);
    }

    List<Event> events(String batch) {
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> batch.equals(e.getInvolvedObject().getName())).toList();
    }

    @Test
    void createsMasterAndWorkerJobsOwnedByTheBatch() {
        TaskBatch batch = MockCluster.create(client, ns, squares("create", null));
        await().atMost(WAIT).until(() -> job("create-master") != null && job("create-workers") != null);

        Job master = job("create-master");
        Job workers = job("create-workers");
        for (Job j : List.of(master, workers)) {
            assertThat(j.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
                assertThat(o.getKind()).isEqualTo("TaskBatch");
                assertThat(o.getUid()).isEqualTo(batch.getMetadata().getUid());
            });
            var pod = j.getSpec().getTemplate().getSpec();
            assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
            var container = pod.getContainers().get(0);
            assertThat(container.getImage()).isEqualTo("taskbatch:test");
            assertThat(container.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
            assertThat(container.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
            assertThat(container.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(container.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            EnvVar uri = container.getEnv().stream().filter(e -> e.getName().equals("TASKBATCH_BROKER_URI")).findFirst().orElseThrow();
            assertThat(uri.getValue()).as("credentials only by secretKeyRef").isNull();
            assertThat(uri.getValueFrom().getSecretKeyRef().getName()).isEqualTo("taskbatch-broker");
            assertThat(container.getEnv()).noneMatch(e -> e.getValue() != null && e.getValue().contains("amqp://"));
        }
        var masterPod = master.getSpec().getTemplate().getSpec();
        assertThat(masterPod.getContainers().get(0).getArgs()).containsSubsequence("master", "--batch", ns + "/create")
                .contains("--state-dir", "--results-configmap", "create-results");
        assertThat(masterPod.getRestartPolicy()).isEqualTo("OnFailure");
        assertThat(masterPod.getServiceAccountName()).isEqualTo("create-master");
        assertThat(master.getSpec().getCompletions()).isEqualTo(1);

        var workerPod = workers.getSpec().getTemplate().getSpec();
        assertThat(workers.getSpec().getCompletions()).as("work-queue mode").isNull();
        assertThat(workers.getSpec().getParallelism()).isEqualTo(3);
        assertThat(workerPod.getAutomountServiceAccountToken()).as("workers get no API token").isFalse();
        assertThat(workerPod.getContainers().get(0).getArgs()).containsExactly("worker", "--batch", ns + "/create",
                "--slots", "2", "--grace", "25");
        assertThat(workerPod.getContainers().get(0).getResources().getRequests()).containsEntry("cpu", new Quantity("2"));

        Role role = client.rbac().roles().inNamespace(ns).withName("create-master").get();
        assertThat(role.getRules()).allSatisfy(r -> assertThat(r.getResourceNames()).isNotEmpty());
        assertThat(role.getRules()).flatExtracting(r -> r.getVerbs()).doesNotContain("list", "watch", "create", "delete", "*");
        assertThat(client.rbac().roleBindings().inNamespace(ns).withName("create-master").get()).isNotNull();
        assertThat(client.serviceAccounts().inNamespace(ns).withName("create-master").get()).isNotNull();
        assertThat(client.configMaps().inNamespace(ns).withName("create-results").get()).isNotNull();

        await().atMost(WAIT).until(() -> isTrue(get("create"), "Valid"));
        assertThat(get("create").getStatus().getPhase()).isEqualTo("Pending");
        assertThat(get("create").getMetadata().getFinalizers()).isNotEmpty();
    }

    @Test
    void invalidSpecGetsValidFalseNamingTheFieldAndNoJobs() {
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: bad
                spec:
                  tasks:
                    range: {from: 1, to: 10}
                  run:
                    builtin: squares
                """);
        await().atMost(WAIT).until(() -> condition(get("bad"), "Valid") != null);
        TaskBatch bad = get("bad");
        Condition valid = condition(bad, "Valid");
        assertThat(valid.getStatus()).isEqualTo("False");
        assertThat(valid.getReason()).isEqualTo("InvalidSpec");
        assertThat(valid.getMessage()).contains("spec.run.builtin").contains("squares");
        assertThat(valid.getObservedGeneration()).isEqualTo(bad.getMetadata().getGeneration());
        assertThat(bad.getStatus().getPhase()).isEqualTo("Failed");
        assertThat(isTrue(bad, "Failed")).isTrue();
        await().atMost(WAIT).until(() -> events("bad").stream().anyMatch(e -> "InvalidSpec".equals(e.getReason())));
        assertThat(client.batch().v1().jobs().inNamespace(ns).list().getItems()).isEmpty();
    }

    @Test
    void aTemplateSettingWhatTheOperatorOwnsGetsValidFalseNamingTheFieldAndNoJobs() {
        MockCluster.create(client, ns, squares("owned", """
                    template:
                      spec:
                        containers:
                          - name: worker
                            command: ["python3", "/app/task.py"]
                            env: [{name: TASKBATCH_BROKER_URI, value: "amqp://guest:guest@elsewhere"}]
                """));
        await().atMost(WAIT).until(() -> condition(get("owned"), "Valid") != null);
        Condition valid = condition(get("owned"), "Valid");
        assertThat(valid.getStatus()).isEqualTo("False");
        assertThat(valid.getReason()).isEqualTo("InvalidSpec");
        assertThat(valid.getMessage()).contains("spec.workers.template.spec.containers[worker].command: is set by the operator; "
                + "put the command in spec.run.command").contains("spec.workers.template.spec.containers[worker]"
                + ".env[TASKBATCH_BROKER_URI]: is set by the operator");
        await().atMost(WAIT).until(() -> events("owned").stream().anyMatch(e -> "InvalidSpec".equals(e.getReason())));
        assertThat(client.batch().v1().jobs().inNamespace(ns).list().getItems()).as("no Job, so no pod").isEmpty();
    }

    @Test
    void masterProgressShowsInStatusAndAStaleOperatorWriteDoesNotRollItBack() {
        MockCluster.create(client, ns, squares("progress", null));
        await().atMost(WAIT).until(() -> job("progress-master") != null);
        TaskBatch stale = get("progress");
        masterRunning("progress");

        var writer = masterWriter("progress", p -> "file /x");
        writer.onProgress(new Progress(100, 100, true, 60, 2, 3, 1, 0, 0, 0, Duration.ofSeconds(4), List.of()));
        await().atMost(WAIT).until(() -> "Running".equals(get("progress").getStatus().getPhase()));
        TaskBatchStatus status = get("progress").getStatus();
        assertThat(status.getSucceeded()).isEqualTo(60);
        assertThat(status.getDone()).isEqualTo("62/100");
        assertThat(isTrue(get("progress"), "Running")).isTrue();

        // the operator's view from before the master wrote: its patch must leave the counts alone
        TaskBatchStatus fromStale = BatchStatusAggregator.aggregate(
                new BatchStatusAggregator.Observed(stale, null, null, null, java.time.Instant.now()));
        OwnedStatusFields.of(fromStale, TaskBatchStatus.OPERATOR_FIELDS)
                .writeTo(apiServer.clientAs("taskbatch-system", "taskbatch-operator"), ns, "progress");
        assertThat(get("progress").getStatus().getSucceeded()).isEqualTo(60);
        assertThat(get("progress").getStatus().getDone()).isEqualTo("62/100");
        // and the master's writes leave the operator's fields alone (what it sends: OwnedStatusFieldsTest)
        writer.onProgress(new Progress(100, 100, true, 70, 2, 3, 1, 0, 0, 0, Duration.ofSeconds(5), List.of()));
        TaskBatchStatus after = get("progress").getStatus();
        assertThat(after.getSucceeded()).isEqualTo(70);
        assertThat(after.getPhase()).isNotNull();
        assertThat(after.getConditions()).isNotEmpty();
    }

    @Test
    void masterOutcomeMakesTheBatchCompleteAndAFailedMasterJobFailsIt() {
        MockCluster.create(client, ns, squares("done", null));
        MockCluster.create(client, ns, squares("crash", null));
        await().atMost(WAIT).until(() -> job("done-master") != null && job("crash-master") != null);
        masterRunning("done");
        Progress all = new Progress(100, 100, true, 100, 0, 0, 0, 0, 0, 0, Duration.ofSeconds(3), List.of());
        masterWriter("done", p -> "ConfigMap done-results (all 100 results)")
                .onFinish(new BatchOutcome(true, null, all));
        await().atMost(WAIT).until(() -> isTrue(get("done"), "Complete"));
        TaskBatch done = get("done");
        assertThat(done.getStatus().getPhase()).isEqualTo("Succeeded");
        assertThat(done.getStatus().getCompletionTime()).isNotNull();
        assertThat(isTrue(done, "Running")).isFalse();
        assertThat(done.getStatus().getResults()).contains("done-results");
        await().atMost(WAIT).until(() -> events("done").stream().anyMatch(e -> "Completed".equals(e.getReason())));

        Job crash = job("crash-master");
        crash.setStatus(new JobStatusBuilder().withFailed(7).withConditions(new JobConditionBuilder().withType("Failed")
                .withStatus("True").withReason("BackoffLimitExceeded").withMessage("Job has reached the specified backoff limit").build()).build());
        client.batch().v1().jobs().inNamespace(ns).resource(crash).updateStatus();
        await().atMost(WAIT).until(() -> isTrue(get("crash"), "Failed"));
        assertThat(condition(get("crash"), "Failed").getReason()).isEqualTo("MasterFailed");
        assertThat(condition(get("crash"), "Failed").getMessage()).contains("BackoffLimitExceeded");
        assertThat(isTrue(get("crash"), "Complete")).isFalse();
    }

    @Test
    void suspendStopsTheWorkersAndResumeStartsThemAgain() {
        MockCluster.create(client, ns, squares("pause", null));
        await().atMost(WAIT).until(() -> job("pause-workers") != null && job("pause-master") != null);
        masterRunning("pause");
        MockCluster.suspend(client, ns, "pause", true);
        await().atMost(WAIT).until(() -> Boolean.TRUE.equals(job("pause-workers").getSpec().getSuspend())
                && isTrue(get("pause"), "Suspended"));
        assertThat(get("pause").getStatus().getPhase()).isEqualTo("Suspended");
        assertThat(job("pause-master").getSpec().getSuspend()).as("the master keeps its ledger").isNotEqualTo(Boolean.TRUE);

        MockCluster.suspend(client, ns, "pause", false);
        await().atMost(WAIT).until(() -> !Boolean.TRUE.equals(job("pause-workers").getSpec().getSuspend())
                && "Running".equals(get("pause").getStatus().getPhase()));
        assertThat(isTrue(get("pause"), "Suspended")).isFalse();
        await().atMost(WAIT).until(() -> events("pause").stream().anyMatch(e -> "Resumed".equals(e.getReason())));
    }

    @Test
    void cancelStopsTheWorkersTellsTheMasterThroughItsNextProgressWriteAndEndsFailedCancelled() {
        MockCluster.create(client, ns, squares("stop", null));
        await().atMost(WAIT).until(() -> job("stop-workers") != null && job("stop-master") != null);
        masterRunning("stop");
        java.util.concurrent.atomic.AtomicInteger told = new java.util.concurrent.atomic.AtomicInteger();
        MasterStatusWriter writer = masterWriter("stop", p -> "file /x").onCancel(told::incrementAndGet);
        Progress some = new Progress(100, 100, true, 40, 0, 0, 0, 0, 0, 0, Duration.ofSeconds(3), List.of());
        writer.onProgress(some);
        assertThat(told).as("not cancelled yet").hasValue(0);

        client.resources(TaskBatch.class).inNamespace(ns).withName("stop").patch(PatchContext.of(PatchType.JSON_MERGE),
                CancelCommand.PATCH);
        await().atMost(WAIT).until(() -> Boolean.TRUE.equals(job("stop-workers").getSpec().getSuspend()));
        assertThat(get("stop").getStatus().getPhase()).isEqualTo("Running");
        assertThat(condition(get("stop"), "Running").getReason()).isEqualTo("Cancelling");
        assertThat(job("stop-master").getSpec().getSuspend()).as("the master marks the rest cancelled").isNotEqualTo(Boolean.TRUE);
        writer.onProgress(some);
        writer.onProgress(some);
        assertThat(told).as("told once, by the answer to a progress write").hasValue(1);

        Progress over = new Progress(100, 100, true, 40, 0, 0, 0, 0, 0, 60, Duration.ofSeconds(4), List.of());
        writer.onFinish(new BatchOutcome(false, MasterStatusWriter.CANCELLED, over));
        await().atMost(WAIT).until(() -> isTrue(get("stop"), "Failed"));
        assertThat(condition(get("stop"), "Failed").getReason()).isEqualTo("Cancelled");
        assertThat(get("stop").getStatus().getCancelled()).isEqualTo(60);
        await().atMost(WAIT).until(() -> events("stop").stream().anyMatch(e -> "Cancelled".equals(e.getReason())));
        assertThat(events("stop")).extracting(Event::getReason).doesNotContain("Failed");
    }

    @Test
    void aRedriveOfABatchWhoseResultsWereCappedIsRefusedAndStartsNothing() {
        MockCluster.create(client, ns, squares("capped", null));
        await().atMost(WAIT).until(() -> job("capped-master") != null);
        masterRunning("capped");
        Progress all = new Progress(10, 10, true, 8, 2, 0, 0, 0, 0, 0, Duration.ofSeconds(3), List.of());
        masterWriter("capped", p -> "ConfigMap capped-results key results.jsonl (first 5 of 10 "
                + ResultsConfigMapWriter.CAPPED + "100 bytes was reached; set spec.results.claimName to keep them all)")
                .onFinish(new BatchOutcome(false, "2 tasks failed", all));
        await().atMost(WAIT).until(() -> isTrue(get("capped"), "Failed"));

        client.resources(TaskBatch.class).inNamespace(ns).withName("capped").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"redrive\":{\"round\":1}}}");
        await().atMost(WAIT).until(() -> "False".equals(condition(get("capped"), "Valid").getStatus()));
        assertThat(condition(get("capped"), "Valid").getMessage()).startsWith("spec.redrive.round: round 1 cannot start: "
                + "the results it would keep were capped (").endsWith("set spec.redrive.round back to 0, and give the batch "
                + "spec.results.claimName to keep every result");
        assertThat(job("capped-master-r1")).as("no round started").isNull();
        assertThat(job("capped-workers-r1")).isNull();

        client.resources(TaskBatch.class).inNamespace(ns).withName("capped").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"redrive\":{\"round\":0}}}");
        await().atMost(WAIT).until(() -> "True".equals(condition(get("capped"), "Valid").getStatus()));
        assertThat(condition(get("capped"), "Failed").getReason()).as("decided as it was").isEqualTo("TasksFailed");
    }

    @Test
    void ttlDeletesAFinishedBatch() {
        MockCluster.create(client, ns, squares("short", "  ttlSecondsAfterFinished: 1"));
        await().atMost(WAIT).until(() -> job("short-master") != null);
        Progress all = new Progress(100, 100, true, 100, 0, 0, 0, 0, 0, 0, Duration.ofSeconds(3), List.of());
        masterWriter("short", p -> "x").onFinish(new BatchOutcome(true, null, all));
        await().atMost(WAIT).until(() -> get("short") == null);
        assertThat(events("short")).extracting(Event::getReason).contains("Completed", "Expired");
    }

    @Test
    void deletingABatchDeletesItsQueuesOnTheBroker() throws Exception {
        TaskBatch batch = MockCluster.create(client, ns, squares("gone", "  queues: {shards: 2}"));
        await().atMost(WAIT).until(() -> job("gone-master") != null);
        BatchQueues queues = BatchQueues.of(ns, "gone", batch.getMetadata().getUid()).withShards(2);
        try (Connection c = BrokerAddress.of(RABBIT.node().amqpUri()).connectionFactory().newConnection();
             Channel ch = c.createChannel()) {
            // what the master declares when it starts
            queues.declare(ch, 3, List.of(Duration.ofSeconds(2), Duration.ofSeconds(4)));
            queues.declareFinished(ch);
        }
        client.resource(get("gone")).delete();
        await().atMost(WAIT).until(() -> get("gone") == null);
        try (Connection c = BrokerAddress.of(RABBIT.node().amqpUri()).connectionFactory().newConnection()) {
            for (String q : List.of(queues.tasks(), queues.results(), queues.tasks(1), queues.results(1), queues.dead(),
                    queues.retry(1), queues.retry(2), queues.finished())) {
                Channel ch = c.createChannel();
                assertThatThrownBy(() -> ch.queueDeclarePassive(q)).as(q).hasStackTraceContaining("NOT_FOUND");
            }
        }
    }

    @Test
    void autoSizesWorkersToReadyNodesAndResizesWhenANodeJoins() {
        String a = "size-a-" + ns;
        client.nodes().resource(node(a, "4")).create();
        try {
            MockCluster.create(client, ns, """
                    apiVersion: taskbatch.io/v1alpha1
                    kind: TaskBatch
                    metadata:
                      name: auto
                    spec:
                      tasks:
                        range: {from: 1, to: 100000}
                      run:
                        builtin: square
                      workers:
                        replicas: auto
                        cpu: "1"
                        maxReplicas: 1000
                        nodeSelector: {pool: %s}
                    """.formatted(ns));
            await().atMost(WAIT).until(() -> job("auto-workers") != null && job("auto-workers").getSpec().getParallelism() == 4);
            client.nodes().resource(node("size-b-" + ns, "8")).create();
            await().atMost(WAIT).until(() -> job("auto-workers").getSpec().getParallelism() == 12);
            await().atMost(WAIT).until(() -> events("auto").stream().anyMatch(e -> "Resized".equals(e.getReason())
                    && e.getMessage().contains("4 -> 12")));
        } finally {
            client.nodes().withName(a).delete();
            client.nodes().withName("size-b-" + ns).delete();
        }
    }

    /**
     * Issue 11: two auto batches applied together on 8 free cores with 1-core workers get 4 and 4, and the one left
     * grows to 8 when the other finishes; what another pod on the node requests is not free.
     */
    @Test
    void autoBatchesShareTheFreeCoresAndTheOneLeftGrowsWhenTheOtherFinishes() {
        String n = "share-" + ns;
        client.nodes().resource(node(n, "10")).create();
        // another workload's pod bound to the node: 2 of its 10 cores are not free (finished pods would be)
        client.pods().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("web")
                .endMetadata().withNewSpec().withNodeName(n).addNewContainer().withName("web").withImage("nginx").withNewResources()
                .addToRequests("cpu", new Quantity("2")).endResources().endContainer().endSpec()
                .withNewStatus().withPhase("Running").endStatus().build()).create();
        try {
            for (String name : List.of("left", "right")) MockCluster.create(client, ns, autoBatch(name, 1000));
            await().atMost(WAIT).until(() -> parallelism("left-workers") == 4 && parallelism("right-workers") == 4);
            masterRunning("left");
            await().atMost(WAIT).until(() -> events("left").stream().anyMatch(e -> "Started".equals(e.getReason())));
            assertThat(events("left")).filteredOn(e -> "Started".equals(e.getReason())).singleElement().satisfies(e ->
                    assertThat(e.getMessage()).isEqualTo("workers: auto: 1 of 1 node eligible; 8 of 10 cores free, a worker "
                            + "requests cpu 1, memory 512Mi: 8 fit; shared by 2 auto batches (weight 1 each) = 4"));

            // right's master says the batch is over: left gets the cores right leaves
            masterRunning("right");
            Progress all = new Progress(100000, 100000, true, 100000, 0, 0, 0, 0, 0, 0, Duration.ofSeconds(3), List.of());
            masterWriter("right", p -> "ConfigMap right-results").onFinish(new BatchOutcome(true, null, all));
            await().atMost(WAIT).until(() -> isTrue(get("right"), "Complete"));
            await().atMost(WAIT).until(() -> parallelism("left-workers") == 8);
            await().atMost(WAIT).until(() -> events("left").stream().anyMatch(e -> "Resized".equals(e.getReason())
                    && e.getMessage().equals("workers 4 -> 8: auto: 1 of 1 node eligible; 8 of 10 cores free, a worker requests "
                    + "cpu 1, memory 512Mi: 8 fit")));
        } finally {
            client.nodes().withName(n).delete();
        }
    }

    /** A weight of 3 against 1 on 8 free cores: 6 and 2. */
    @Test
    void weightedAutoBatchesShareInProportion() {
        String n = "weight-" + ns;
        client.nodes().resource(node(n, "8")).create();
        try {
            MockCluster.create(client, ns, autoBatch("heavy", 1000).replace("cpu: \"1\"", "cpu: \"1\"\n    weight: 3"));
            MockCluster.create(client, ns, autoBatch("light", 1000));
            await().atMost(WAIT).until(() -> parallelism("heavy-workers") == 6 && parallelism("light-workers") == 2);
        } finally {
            client.nodes().withName(n).delete();
        }
    }

    private String autoBatch(String name, int maxReplicas) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                spec:
                  tasks:
                    range: {from: 1, to: 100000}
                  run:
                    builtin: square
                  workers:
                    replicas: auto
                    cpu: "1"
                    maxReplicas: %d
                    nodeSelector: {pool: %s}
                """.formatted(name, maxReplicas, ns);
    }

    private int parallelism(String job) {
        Job j = job(job);
        return j == null || j.getSpec().getParallelism() == null ? -1 : j.getSpec().getParallelism();
    }

    private Node node(String name, String cpu) {
        return new NodeBuilder().withNewMetadata().withName(name).withLabels(Map.of("pool", ns)).endMetadata()
                .withNewStatus().addNewCondition().withType("Ready").withStatus("True").endCondition()
                .addToAllocatable("cpu", new Quantity(cpu)).addToAllocatable("memory", new Quantity("64Gi")).endStatus().build();
    }
}
