package io.taskbatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.Authorizer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.InjectApiServer;
import io.taskbatch.testing.Kubelet;
import io.taskbatch.testing.MockCluster;
import io.taskbatch.testing.PodProcess;
import io.taskbatch.testing.PrinterColumns;
import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.Scrape;
import io.taskbatch.metrics.MetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole flow without Docker: the operator against an RBAC-enforcing API server ({@link ApiServerResource}, the
 * operator as its ServiceAccount, the test as cluster admin), a {@link Kubelet} that
 * runs each pod of each Job it creates as a process of our jar, and a private RabbitMQ. A TaskBatch
 * goes from applied to Complete with exact counts and results, with and without a worker SIGKILLed.
 */
@QuarkusTest
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorFlowIT {
    static final String OPERATOR = "taskbatch-operator";
    static final String OPERATOR_USER = "system:serviceaccount:taskbatch-system:" + OPERATOR;
    static final Duration BATCH = Duration.ofMinutes(3);
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    @InjectApiServer
    ApiServer apiServer;

    /** The user's client (kubectl as cluster admin); the operator has its own, as its ServiceAccount. */
    KubernetesClient client;

    @Inject
    Operator operator;

    @Inject
    MeterRegistry meters;

    /** Pod dirs, claims and logs; kept under target/ to read after a failure. */
    Path work;

    String ns;
    Kubelet kubelet;

    @BeforeEach
    void cluster() throws IOException {
        client = apiServer.adminClient();
        MockCluster.start(client, operator);
        ns = MockCluster.namespace(client, "flow");
        work = Files.createDirectories(Path.of("target/flow-it").toAbsolutePath().resolve(ns + "-" + System.nanoTime()));
        MockCluster.brokerSecret(client, ns, "taskbatch-broker", RABBIT.node().amqpUri());
        String api = client.getMasterUrl().toString();
        // what a pod with a service account token gets: the API server's address, and nothing else of ours
        kubelet = new Kubelet(client, apiServer::token, ns, JarProcesses.jar().toAbsolutePath(), work, Map.of(
                "KUBERNETES_MASTER", api, "KUBERNETES_TRUST_CERTIFICATES", "true",
                "KUBERNETES_AUTH_TRYKUBECONFIG", "false", "KUBERNETES_NAMESPACE", ns,
                "QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", api, "QUARKUS_KUBERNETES_CLIENT_TRUST_CERTS", "true")).start();
    }

    @AfterEach
    void stop() {
        if (kubelet != null) kubelet.close();
    }

    TaskBatch get(String name) {
        return client.resources(TaskBatch.class).inNamespace(ns).withName(name).get();
    }

    /** {@code kubectl wait --for=condition=Complete tb/NAME}, with the pods' logs when it fails. */
    TaskBatch waitComplete(String name) {
        try {
            await().atMost(BATCH).pollInterval(Duration.ofMillis(250)).until(() -> {
                TaskBatch b = get(name);
                if (b != null && b.getStatus() != null && "Failed".equals(b.getStatus().getPhase())) {
                    throw new AssertionError("batch failed: " + b.getStatus().getMessage());
                }
                return condition(b, "Complete");
            });
        } catch (Throwable e) {
            throw new AssertionError(e.getMessage() + "\nstatus: " + statusOf(name) + "\n" + logs(), e);
        }
        return get(name);
    }

    String statusOf(String name) {
        TaskBatch b = get(name);
        return b == null ? "(gone)" : client.getKubernetesSerialization().asJson(b.getStatus());
    }

    String logs() {
        StringBuilder sb = new StringBuilder();
        for (String job : List.of("master", "workers")) {
            for (String batch : client.resources(TaskBatch.class).inNamespace(ns).list().getItems().stream()
                    .map(b -> b.getMetadata().getName()).toList()) {
                for (PodProcess pod : kubelet.allPods(batch + "-" + job)) {
                    try {
                        String log = Files.readString(kubelet.log(pod));
                        sb.append("--- ").append(pod.name()).append('\n')
                                .append(log.length() > 4000 ? log.substring(log.length() - 4000) : log).append('\n');
                    } catch (IOException e) {
                        sb.append("--- ").append(pod.name()).append(": ").append(e).append('\n');
                    }
                }
            }
        }
        return sb.toString();
    }

    /** Waits until the master has reported at least {@code n} tasks succeeded: the batch is under way. */
    void awaitSucceeded(String name, long n) {
        await().atMost(BATCH).until(() -> {
            TaskBatch b = get(name);
            return b.getStatus() != null && b.getStatus().getSucceeded() != null && b.getStatus().getSucceeded() >= n;
        });
    }

    static boolean condition(TaskBatch b, String type) {
        if (b == null || b.getStatus() == null || b.getStatus().getConditions() == null) return false;
        for (Condition c : b.getStatus().getConditions()) if (type.equals(c.getType())) return "True".equals(c.getStatus());
        return false;
    }

    /** Each result's id exactly once, and the ids are 0..total-1. */
    static void assertEveryIdOnce(List<JsonNode> results, int total) {
        List<Long> ids = results.stream().map(r -> r.get("id").asLong()).toList();
        Set<Long> unique = new HashSet<>(ids);
        assertThat(ids).as("no result counted twice").hasSize(unique.size());
        assertThat(unique).as("no result lost").isEqualTo(IntStream.range(0, total).mapToObj(i -> (long) i).collect(Collectors.toSet()));
    }

    static List<JsonNode> parse(String jsonLines) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : jsonLines.split("\n")) if (!line.isBlank()) out.add(JSON.readTree(line));
        return out;
    }

    @Test
    void aBatchGoesFromAppliedToCompleteWithExactCountsAndResults() throws IOException {
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: squares
                spec:
                  tasks:
                    range: {from: 1, to: 3000}
                  run:
                    builtin: square
                  workers:
                    replicas: 2
                    cpu: "1"
                    concurrency: 2
                """);
        TaskBatch done = waitComplete("squares");
        TaskBatchStatus s = done.getStatus();
        assertThat(s.getPhase()).isEqualTo("Succeeded");
        assertThat(s.getTotal()).isEqualTo(3000);
        assertThat(s.getSucceeded()).isEqualTo(3000);
        assertThat(s.getFailed()).isZero();
        assertThat(s.getDone()).isEqualTo("3000/3000");
        assertThat(s.getResults()).contains("squares-results").contains("all 3000 results");

        String text = client.configMaps().inNamespace(ns).withName("squares-results").get().getData().get("results.jsonl");
        List<JsonNode> results = parse(text);
        assertEveryIdOnce(results, 3000);
        for (JsonNode r : results) {
            long n = r.get("input").asLong();
            assertThat(r.get("status").asText()).isEqualTo("succeeded");
            assertThat(r.get("output").asText()).startsWith(n + " * " + n + " = " + (n * n));
        }
        assertThat(kubelet.allPods("squares-workers")).isNotEmpty().allSatisfy(p ->
                assertThat(p.apiAccess()).as("workers run without an API token").isFalse());
        assertThat(kubelet.allPods("squares-master")).singleElement().satisfies(p -> assertThat(p.apiAccess()).isTrue());
        // workers exit 0 once the master declares the batch over, so their Job completes
        await().atMost(Duration.ofSeconds(60)).until(() -> kubelet.pods("squares-workers").isEmpty());
        // what `kubectl get tb` prints once it is over: no worker wanted, none left
        await().atMost(Duration.ofSeconds(30)).until(() -> "0/0".equals(PrinterColumns.of(get("squares")).get("WORKERS")));
        assertThat(PrinterColumns.of(get("squares"))).containsEntry("PHASE", "Succeeded").containsEntry("DONE", "3000/3000")
                .containsEntry("FAILED", "0").containsEntry("WORKERS", "0/0").hasEntrySatisfying("RATE", r -> assertThat(r).endsWith("/s"));

        // a master Role edited by hand is put back as the batch needs it
        Role role = client.rbac().roles().inNamespace(ns).withName("squares-master").get();
        List<PolicyRule> wanted = role.getRules();
        client.rbac().roles().inNamespace(ns).withName("squares-master").edit(r -> {
            r.getRules().get(0).setResourceNames(List.of("someone-else"));
            return r;
        });
        await().atMost(Duration.ofSeconds(30)).until(() ->
                client.rbac().roles().inNamespace(ns).withName("squares-master").get().getRules().equals(wanted));
    }

    @Test
    void aWorkerKilledMidBatchLosesNothingAndCountsNothingTwice() throws IOException {
        sleepBatch("sleepy", 2000, 10, """
                  results:
                    claimName: out
                    path: sleepy/results.jsonl
                """);
        awaitSucceeded("sleepy", 200);
        PodProcess victim = kubelet.pods("sleepy-workers").get(0);
        long before = get("sleepy").getStatus().getSucceeded();
        kubelet.kill(victim);
        assertThat(before).as("killed mid-batch").isLessThan(2000);

        TaskBatch done = waitComplete("sleepy");
        assertThat(done.getStatus().getSucceeded()).isEqualTo(2000);
        assertThat(done.getStatus().getFailed()).isZero();
        assertThat(done.getStatus().getTotal()).isEqualTo(2000);
        assertThat(victim.restarts()).as("the kubelet restarted the killed worker").isPositive();
        Path file = work.resolve("claims/out/sleepy/results.jsonl");
        assertEveryIdOnce(parse(Files.readString(file)), 2000);
    }

    @Test
    void configMapAndFilesSourcesWorkOnTheCluster() throws Exception {
        client.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("words")
                .endMetadata().addToData("list.txt", "alpha\nbeta\n\ngamma\n").build()).create();
        Path data = Files.createDirectories(work.resolve("claims/data/logs"));
        Files.writeString(data.resolve("a.log"), "first");
        Files.writeString(data.resolve("b.log"), "second");
        Files.writeString(data.resolve("skip.txt"), "not matched");
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: lines
                spec:
                  tasks:
                    configMap: {name: words, key: list.txt}
                  run:
                    builtin: echo
                  workers: {replicas: 1, cpu: "1"}
                """);
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: hashes
                spec:
                  tasks:
                    files: {claimName: data, glob: "logs/*.log"}
                  run:
                    builtin: sha256
                  workers: {replicas: 1, cpu: "1"}
                """);
        TaskBatch lines = waitComplete("lines");
        assertThat(lines.getStatus().getSucceeded()).isEqualTo(3);
        List<JsonNode> echoed = parse(client.configMaps().inNamespace(ns).withName("lines-results").get().getData().get("results.jsonl"));
        assertThat(echoed).extracting(r -> r.get("output").asText()).containsExactlyInAnyOrder("alpha", "beta", "gamma");

        TaskBatch hashes = waitComplete("hashes");
        assertThat(hashes.getStatus().getSucceeded()).isEqualTo(2);
        List<JsonNode> hashed = parse(client.configMaps().inNamespace(ns).withName("hashes-results").get().getData().get("results.jsonl"));
        var sha = java.security.MessageDigest.getInstance("SHA-256");
        String first = java.util.HexFormat.of().formatHex(sha.digest("first".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(hashed).extracting(r -> r.get("output").asText()).anySatisfy(o -> assertThat(o).contains(first));
    }

    /**
     * spec.workers.template, as the "Done when" asks: env from a Secret and a ConfigMap, a volume, a GPU limit
     * and an affinity rule reach the worker pod as specified, and the task really reads the Secret (its result says what
     * it read) and writes to the volume (the test reads the pod's emptyDir).
     */
    @Test
    void aWorkerTemplateGivesTheTaskASecretAVolumeAGpuAndAnAffinity() throws IOException {
        client.secrets().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata()
                .withName("db").endMetadata().addToStringData("password", "s3cr3t-from-the-secret").build()).create();
        client.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("settings")
                .endMetadata().addToData("REGION", "eu-west").build()).create();
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: tpl
                spec:
                  tasks:
                    range: {from: 1, to: 6}
                  run:
                    # $SCRATCH, not the literal path: this kubelet maps mount paths named by a whole env value or arg
                    command:
                      - sh
                      - -c
                      - printf '%s\\n' "$TASK_INPUT" >> "$SCRATCH/seen.txt" && printf 'password=%s region=%s' "$DB_PASSWORD" "$REGION"
                  workers:
                    replicas: 1
                    cpu: "1"
                    template:
                      metadata:
                        labels: {team: reports}
                      spec:
                        affinity:
                          nodeAffinity:
                            requiredDuringSchedulingIgnoredDuringExecution:
                              nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]}]
                        volumes: [{name: scratch, emptyDir: {}}]
                        containers:
                          - name: worker
                            env:
                              - name: DB_PASSWORD
                                valueFrom: {secretKeyRef: {name: db, key: password}}
                              - {name: SCRATCH, value: /scratch}
                            envFrom: [{configMapRef: {name: settings}}]
                            volumeMounts: [{name: scratch, mountPath: /scratch}]
                            resources:
                              limits: {nvidia.com/gpu: 1}
                """);
        TaskBatch done = waitComplete("tpl");
        assertThat(done.getStatus().getSucceeded()).isEqualTo(6);
        List<JsonNode> results = parse(client.configMaps().inNamespace(ns).withName("tpl-results").get().getData().get("results.jsonl"));
        assertEveryIdOnce(results, 6);
        assertThat(results).extracting(r -> r.get("output").asText()).as("each task read the Secret and the ConfigMap")
                .containsOnly("password=s3cr3t-from-the-secret region=eu-west");

        // the pods, as the API server has them: what the template said, beside what the operator owns
        List<io.fabric8.kubernetes.api.model.Pod> pods = client.pods().inNamespace(ns).withLabel("job-name", "tpl-workers").list().getItems();
        assertThat(pods).isNotEmpty().allSatisfy(pod -> {
            assertThat(pod.getMetadata().getLabels()).containsEntry("team", "reports").containsEntry("taskbatch.io/batch", "tpl");
            var spec = pod.getSpec();
            assertThat(spec.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                    .getNodeSelectorTerms().get(0).getMatchExpressions().get(0).getKey()).isEqualTo("kubernetes.io/os");
            assertThat(spec.getVolumes()).anySatisfy(v -> {
                assertThat(v.getName()).isEqualTo("scratch");
                assertThat(v.getEmptyDir()).isNotNull();
            });
            var worker = spec.getContainers().get(0);
            assertThat(worker.getName()).isEqualTo("worker");
            assertThat(worker.getArgs()).startsWith("worker");
            assertThat(worker.getEnv()).anySatisfy(e -> {
                assertThat(e.getName()).isEqualTo("DB_PASSWORD");
                assertThat(e.getValue()).as("the password is never in the pod spec").isNull();
                assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("db");
            });
            assertThat(worker.getEnvFrom()).singleElement().satisfies(e -> assertThat(e.getConfigMapRef().getName()).isEqualTo("settings"));
            assertThat(worker.getResources().getLimits()).containsEntry("nvidia.com/gpu", new io.fabric8.kubernetes.api.model.Quantity("1"));
            assertThat(worker.getResources().getRequests()).containsEntry("nvidia.com/gpu", new io.fabric8.kubernetes.api.model.Quantity("1"))
                    .containsEntry("cpu", new io.fabric8.kubernetes.api.model.Quantity("1"));
            assertThat(worker.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        });
        // what the tasks wrote into the pods' emptyDir
        Set<String> seen = new HashSet<>();
        for (PodProcess pod : kubelet.allPods("tpl-workers")) {
            Path file = pod.volume("scratch").resolve("seen.txt");
            if (Files.exists(file)) seen.addAll(Files.readAllLines(file));
        }
        assertThat(seen).containsExactlyInAnyOrder("1", "2", "3", "4", "5", "6");
    }

    @Test
    void theMasterKilledMidBatchResumesFromItsCheckpoint() throws IOException {
        sleepBatch("resume", 1500, 10, "");
        awaitSucceeded("resume", 200);
        PodProcess master = kubelet.pods("resume-master").get(0);
        kubelet.kill(master);
        assertThat(get("resume").getStatus().getSucceeded()).as("killed mid-batch").isLessThan(1500);

        TaskBatch done = waitComplete("resume");
        assertThat(master.restarts()).as("restarted in place, with its emptyDir").isPositive();
        assertThat(done.getStatus().getSucceeded()).isEqualTo(1500);
        assertThat(done.getStatus().getTotal()).isEqualTo(1500);
        List<JsonNode> results = parse(client.configMaps().inNamespace(ns).withName("resume-results").get().getData().get("results.jsonl"));
        assertEveryIdOnce(results, 1500);
    }

    @Test
    void suspendStopsTheWorkersAndResumeFinishesWithExactCounts() throws IOException {
        sleepBatch("pause", 3000, 20, "");
        awaitSucceeded("pause", 200);
        setSuspend("pause", true);
        await().atMost(BATCH).until(() -> "Suspended".equals(get("pause").getStatus().getPhase())
                && kubelet.pods("pause-workers").isEmpty());
        Job workers = client.batch().v1().jobs().inNamespace(ns).withName("pause-workers").get();
        assertThat(workers.getSpec().getSuspend()).isTrue();
        assertThat(jobCondition(workers, "Suspended")).isEqualTo("True");
        assertThat(kubelet.pods("pause-master")).as("the master keeps its ledger").hasSize(1);
        // the master counts what the stopping workers finished and reports it within a second or two
        long held = settledSucceeded("pause");
        sleep(Duration.ofSeconds(3));
        assertThat(get("pause").getStatus().getSucceeded()).as("no worker runs while suspended").isEqualTo(held).isLessThan(3000);
        assertThat(PrinterColumns.of(get("pause"))).containsEntry("PHASE", "Suspended");

        setSuspend("pause", false);
        TaskBatch done = waitComplete("pause");
        assertThat(done.getStatus().getSucceeded()).isEqualTo(3000);
        assertThat(done.getStatus().getFailed()).isZero();
        workers = client.batch().v1().jobs().inNamespace(ns).withName("pause-workers").get();
        assertThat(workers.getSpec().getSuspend()).as("the worker Job is resumed").isFalse();
        assertThat(jobCondition(workers, "Suspended")).isEqualTo("False");
        assertEveryIdOnce(parse(client.configMaps().inNamespace(ns).withName("pause-results").get().getData()
                .get("results.jsonl")), 3000);
        assertThat(events("pause")).contains("Suspended", "Resumed", "Completed");
        await().atMost(Duration.ofSeconds(60)).until(() -> "0/0".equals(PrinterColumns.of(get("pause")).get("WORKERS")));
    }

    /**
     * A batch queued in Kueue, the test playing Kueue's part (admitting is unsuspending the worker Job): no worker runs
     * until it is admitted; a suspend deletes the worker Job (Kueue would unsuspend it), a resume queues a new one, and
     * the batch still ends with every task counted once.
     */
    @Test
    void aBatchQueuedInKueueRunsOnlyWhenAdmittedAndSuspendsByGivingUpItsJob() throws IOException {
        String items = IntStream.range(0, 3000).mapToObj(i -> "\"20\"").collect(Collectors.joining(", "));
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: queued
                  labels: {kueue.x-k8s.io/queue-name: team-a}
                spec:
                  tasks:
                    items: [%s]
                  run:
                    builtin: sleep
                  workers: {replicas: 2, cpu: "1", concurrency: 4}
                """.formatted(items));
        await().atMost(BATCH).until(() -> conditionOf(get("queued"), "Running") != null
                && "WaitingForAdmission".equals(conditionOf(get("queued"), "Running").getReason())
                && get("queued").getStatus().getTotal() != null);
        assertThat(kubelet.pods("queued-workers")).as("no worker before Kueue admits the Job").isEmpty();
        assertThat(kubelet.pods("queued-master")).as("the master is not queued").hasSize(1);
        assertThat(java.util.Objects.requireNonNullElse(get("queued").getStatus().getSucceeded(), 0L)).isZero();

        admit("queued-workers");
        awaitSucceeded("queued", 200);
        setSuspend("queued", true);
        await().atMost(BATCH).until(() -> "Suspended".equals(get("queued").getStatus().getPhase())
                && client.batch().v1().jobs().inNamespace(ns).withName("queued-workers").get() == null
                && kubelet.pods("queued-workers").isEmpty());
        long held = settledSucceeded("queued");
        assertThat(held).isLessThan(3000);

        setSuspend("queued", false);
        await().atMost(BATCH).until(() -> "WaitingForAdmission".equals(conditionOf(get("queued"), "Running").getReason()));
        assertThat(kubelet.pods("queued-workers")).as("queued again").isEmpty();
        admit("queued-workers");
        TaskBatch done = waitComplete("queued");
        assertThat(done.getStatus().getSucceeded()).isEqualTo(3000);
        assertEveryIdOnce(parse(client.configMaps().inNamespace(ns).withName("queued-results").get().getData()
                .get("results.jsonl")), 3000);
        assertThat(events("queued")).contains("Suspended", "Completed");
    }

    /** What Kueue does to a Job its queue admits. */
    void admit(String job) {
        client.batch().v1().jobs().inNamespace(ns).withName(job).patch(
                io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                "{\"spec\":{\"suspend\":false}}");
    }

    /**
     * TTL deletion with the operator's ClusterRole short of {@code delete} on taskbatches: the API server's 403
     * shows in the batch's status ({@code Reconciled=False}) and nothing is deleted; with the verb back, the batch
     * goes, its queues with it, and one Expired event says so.
     */
    /**
     * The user's loop after a batch with failures: fix the cause (here an environment variable of the workers), then
     * redrive. Round 1 runs just the failed tasks, with their ids, on Jobs of its own; their new results replace the
     * old lines in the results ConfigMap, every other line stays byte for byte, and the counts are the whole batch's.
     */
    @Test
    void aRedriveRunsAgainJustTheFailedTasksAndReplacesTheirResults() throws Exception {
        int total = 200;
        String items = IntStream.range(0, total).mapToObj(i -> i % 20 == 7 ? "\"bad\"" : "\"ok\"").collect(Collectors.joining(", "));
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: again
                spec:
                  tasks:
                    items: [%s]
                  run:
                    command: ["sh", "-c", "case $TASK_INPUT in bad) [ \\"$FIXED\\" = 1 ] || exit 3;; esac; echo \\"$TASK_INPUT $FIXED\\""]
                  retry: {maxAttempts: 1}
                  failurePolicy: {maxFailedTasks: 50}
                  workers: {replicas: 1, cpu: "1", concurrency: 2, env: {FIXED: "0"}}
                """.formatted(items));
        TaskBatch first = waitComplete("again");
        assertThat(first.getStatus().getFailed()).isEqualTo(total / 20);
        List<String> before = client.configMaps().inNamespace(ns).withName("again-results").get().getData()
                .get("results.jsonl").lines().toList();
        assertThat(before).hasSize(total);

        client.resources(TaskBatch.class).inNamespace(ns).withName("again").edit(b -> {
            b.getSpec().getWorkers().getEnv().put("FIXED", "1");
            var redrive = new io.taskbatch.api.RedriveSpec();
            redrive.setRound(1);
            redrive.setSelect(List.of("failed"));
            b.getSpec().setRedrive(redrive);
            return b;
        });
        await().atMost(BATCH).pollInterval(Duration.ofMillis(250)).until(() -> {
            TaskBatch b = get("again");
            return b.getStatus().getRound() != null && b.getStatus().getRound() == 1 && condition(b, "Complete");
        });
        TaskBatch second = get("again");
        assertThat(second.getStatus().getSucceeded()).isEqualTo(total);
        assertThat(second.getStatus().getFailed()).isZero();
        assertThat(second.getStatus().getTotal()).isEqualTo(total);
        List<String> after = client.configMaps().inNamespace(ns).withName("again-results").get().getData()
                .get("results.jsonl").lines().toList();
        List<JsonNode> results = parse(String.join("\n", after));
        assertEveryIdOnce(results, total);
        assertThat(results).filteredOn(r -> r.get("id").asLong() % 20 == 7).hasSize(total / 20).allSatisfy(r -> {
            assertThat(r.get("status").asText()).isEqualTo("succeeded");
            assertThat(r.get("output").asText()).isEqualTo("bad 1");
        });
        assertThat(after).as("the results of round 0 that did not run again, as they were")
                .containsAll(before.stream().filter(l -> !l.contains("\"status\":\"failed\"")).toList());
        assertThat(client.batch().v1().jobs().inNamespace(ns).withName("again-master-r1").get()).as("round 1's own master Job").isNotNull();
        assertThat(kubelet.allPods("again-workers-r1")).as("round 1's own workers").isNotEmpty();
        assertThat(events("again")).contains("Completed", "Redriven");
    }

    @Test
    void ttlDeletesAFinishedBatchAndItsQueuesAndAMissingVerbShowsInTheStatus() throws Exception {
        ClusterRole granted = client.rbac().clusterRoles().withName(OPERATOR).get();
        ClusterRole withoutDelete = client.rbac().clusterRoles().withName(OPERATOR).get();
        withoutDelete.getRules().stream().filter(r -> r.getResources().contains("taskbatches"))
                .forEach(r -> r.setVerbs(r.getVerbs().stream().filter(v -> !v.equals("delete")).toList()));
        client.rbac().clusterRoles().resource(withoutDelete).update();
        TaskBatch batch;
        try {
            batch = MockCluster.create(client, ns, """
                    apiVersion: taskbatch.io/v1alpha1
                    kind: TaskBatch
                    metadata:
                      name: brief
                    spec:
                      tasks:
                        range: {from: 1, to: 50}
                      run:
                        builtin: square
                      workers: {replicas: 1, cpu: "1"}
                      ttlSecondsAfterFinished: 1
                    """);
            waitComplete("brief");
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                Condition reconciled = conditionOf(get("brief"), "Reconciled");
                return reconciled != null && "False".equals(reconciled.getStatus());
            });
            assertThat(conditionOf(get("brief"), "Reconciled").getMessage()).isEqualTo("taskbatches.taskbatch.io \"brief\" is "
                    + "forbidden: User \"" + OPERATOR_USER + "\" cannot delete resource \"taskbatches\" in API group "
                    + "\"taskbatch.io\" in the namespace \"" + ns + "\"");
            assertThat(get("brief")).as("not deleted without the verb").isNotNull();
            assertThat(events("brief")).doesNotContain("Expired");
        } finally {
            granted.getMetadata().setResourceVersion(null);
            client.rbac().clusterRoles().resource(granted).update();
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> get("brief") == null);
        assertThat(events("brief")).containsOnlyOnce("Expired");
        BatchQueues queues = BatchQueues.of(ns, "brief", batch.getMetadata().getUid());
        try (var c = BrokerAddress.of(RABBIT.node().amqpUri()).connectionFactory().newConnection()) {
            for (String q : List.of(queues.tasks(), queues.results(), queues.dead(), queues.finished())) {
                var ch = c.createChannel();
                assertThatThrownBy(() -> ch.queueDeclarePassive(q)).as(q + " is deleted with its batch")
                        .hasStackTraceContaining("NOT_FOUND");
            }
        }
    }

    /**
     * Both roles serve task metrics on their pods' named port, during the run and for a while after it (so the last
     * scrape has the final counts): the workers' counters add up to the batch's counts, the duration histogram is
     * filled, the master's done and total are right; each role's readiness is UP while it works; the operator counts
     * its reconciliations and the batch's phase.
     */
    @Test
    void bothRolesServeTaskMetricsThatAddUpToTheBatch() throws Exception {
        int total = 600;
        // 1 in 10 fails every attempt (retried once, then failed), 1 in 10 fails its first attempt only
        String items = IntStream.range(0, total).mapToObj(i -> i % 10 == 3 ? "\"x\"" : i % 10 == 5 ? "\"1\"" : "\"0\"")
                .collect(Collectors.joining(", "));
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: metered
                spec:
                  tasks:
                    items: [%s]
                  run:
                    command: ["sh", "-c", "sleep 0.02; case $TASK_INPUT in x) exit 1;; 1) [ $TASK_ATTEMPT -gt 1 ] || exit 1;; esac; echo ok"]
                  retry: {maxAttempts: 2, backoff: 100ms, maxBackoff: 100ms}
                  failurePolicy: {maxFailedTasks: 1000}
                  workers: {replicas: 2, cpu: "1", concurrency: 2}
                """.formatted(items));
        String[] batch = {"namespace", ns, "batch", "metered"};
        // Prometheus' view: every worker pod scraped every 200 ms while it serves, its last scrape kept (a pod the
        // operator scales down as the batch drains serves its final counts for the linger, then goes)
        record Scraped(Scrape scrape, long atNanos) {
        }
        Map<String, Scraped> lastScrape = new java.util.concurrent.ConcurrentHashMap<>();
        Thread prometheus = Thread.ofVirtual().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                for (PodProcess pod : kubelet.allPods("metered-workers")) {
                    pod.hostPort("metrics").ifPresent(port -> {
                        try {
                            lastScrape.put(pod.name(), new Scraped(Scrape.of(port), System.nanoTime()));
                        } catch (IOException | RuntimeException e) {
                            // not serving (yet, or any more)
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        // during the run: the worker is ready and busy, the master knows the total and is under way
        await().atMost(BATCH).pollInterval(Duration.ofMillis(200)).ignoreExceptionsInstanceOf(IOException.class)
                .untilAsserted(() -> {
            PodProcess worker = kubelet.pods("metered-workers").stream().filter(p -> p.hostPort("metrics").isPresent())
                    .findFirst().orElseThrow(() -> new AssertionError("no worker pod yet"));
            PodProcess master = kubelet.pods("metered-master").stream().filter(p -> p.hostPort("metrics").isPresent())
                    .findFirst().orElseThrow(() -> new AssertionError("no master pod yet"));
            int workerPort = worker.hostPort("metrics").orElseThrow();
            int masterPort = master.hostPort("metrics").orElseThrow();
            assertThat(Scrape.get(workerPort, "/q/health/ready").statusCode()).as("worker ready while consuming").isEqualTo(200);
            assertThat(Scrape.get(masterPort, "/q/health/ready").statusCode()).as("master ready once connected").isEqualTo(200);
            Scrape w = Scrape.of(workerPort);
            assertThat(w.sum("taskbatch_worker_slots", batch)).isEqualTo(2);
            assertThat(w.sum("taskbatch_worker_tasks_total", batch)).as("tasks done so far").isPositive();
            Scrape m = Scrape.of(masterPort);
            assertThat(m.sum("taskbatch_master_tasks", batch)).isEqualTo(total);
            assertThat(m.sum("taskbatch_master_tasks_done_total", batch)).isPositive().isLessThan(total);
        });
        TaskBatchStatus status = waitComplete("metered").getStatus();
        assertThat(status.getSucceeded()).isEqualTo(total * 9 / 10);
        assertThat(status.getFailed()).isEqualTo(total / 10);

        // after the run, within the linger: the last scrape of each worker has its final counts (a worker still up
        // has been scraped since the batch ended; one that is gone was scraped while it lingered)
        long doneAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() ->
                kubelet.allPods("metered-workers").stream().allMatch(pod -> {
                    Scraped last = lastScrape.get(pod.name());
                    boolean up = pod.process().map(Process::isAlive).orElse(false);
                    return last != null && (last.atNanos() > doneAt || !up);
                }));
        prometheus.interrupt();
        prometheus.join();
        List<Scrape> workers = lastScrape.values().stream().map(Scraped::scrape).toList();
        // what tells a failure apart: when each pod was last scraped, and whether the Job controller had deleted it
        // (a scale-down: SIGTERM, then SIGKILL after the grace period)
        String seen = kubelet.allPods("metered-workers").stream().map(pod -> {
            Scraped last = lastScrape.get(pod.name());
            return pod.name() + " scraped " + (last == null ? "never" : (last.atNanos() - doneAt) / 1_000_000 + " ms after the end")
                    + (pod.terminating() ? ", deleted" : "") + ", " + pod.phase();
        }).collect(Collectors.joining("; "));
        assertThat(workers).as("every worker pod was scraped").hasSize(kubelet.allPods("metered-workers").size());
        int attempts = total + total / 10 * 2; // every task once, and one retry of each "x" and each "1"
        double succeeded = 0, failed = 0, retried = 0, durations = 0, published = 0, acked = 0;
        for (Scrape w : workers) {
            succeeded += w.sum("taskbatch_worker_tasks_total", "outcome", "succeeded", "batch", "metered");
            failed += w.sum("taskbatch_worker_tasks_total", "outcome", "failed", "batch", "metered");
            retried += w.sum("taskbatch_worker_tasks_total", "outcome", "retried", "batch", "metered");
            durations += w.sum("taskbatch_task_duration_seconds_count", "executor", "command", "batch", "metered");
            published += w.sum("taskbatch_worker_results_published_total", "batch", "metered");
            acked += w.sum("taskbatch_worker_results_confirmed_total", "confirm", "acked", "batch", "metered");
            assertThat(w.sum("taskbatch_task_duration_seconds_bucket", "le", "+Inf", "batch", "metered"))
                    .isEqualTo(w.sum("taskbatch_task_duration_seconds_count", "batch", "metered"));
            assertThat(w.sum("taskbatch_task_duration_seconds_bucket", "le", "0.001", "batch", "metered"))
                    .as("no attempt of a 20 ms sleep took under a millisecond").isZero();
            assertThat(w.sum("taskbatch_worker_slots_busy", batch)).as("idle after the batch (%s)", seen).isZero();
            assertThat(w.names()).as("never a label per task").noneMatch(n -> n.contains("task_id"));
        }
        assertThat(succeeded).as("worker successes add up to the batch's").isEqualTo(status.getSucceeded().doubleValue());
        assertThat(failed).as("worker failures add up to the batch's").isEqualTo(status.getFailed().doubleValue());
        assertThat(retried).as("one retry for each x and each 1").isEqualTo(total / 10 * 2);
        assertThat(durations).as("one duration per attempt").isEqualTo(attempts);
        assertThat(published).as("a result per task").isEqualTo(total);
        assertThat(acked).as("every result confirmed").isEqualTo(total);
        Scrape master = Scrape.of(kubelet.allPods("metered-master").get(0).hostPort("metrics").orElseThrow());
        assertThat(master.sum("taskbatch_master_tasks", batch)).isEqualTo(total);
        assertThat(master.sum("taskbatch_master_tasks_done_total", "outcome", "succeeded", "batch", "metered"))
                .isEqualTo(status.getSucceeded().doubleValue());
        assertThat(master.sum("taskbatch_master_tasks_done_total", "outcome", "failed", "batch", "metered"))
                .isEqualTo(status.getFailed().doubleValue());
        assertThat(master.sum("taskbatch_master_tasks_retried_total", batch)).isEqualTo(total / 10 * 2);
        assertThat(master.sum("taskbatch_master_tasks_published_total", batch)).isEqualTo(total);
        assertThat(master.sum("taskbatch_master_tasks_in_flight", batch)).isZero();
        assertThat(master.sum("taskbatch_master_results_duplicates_total", batch)).isZero();
        assertThat(master.sum("taskbatch_master_tasks_dead_total", batch)).isZero();

        assertThat(meters.find(MetricNames.OPERATOR_BATCHES).tags("namespace", ns, "phase", "Succeeded").gauge())
                .as("the operator counts the batch as Succeeded").satisfies(g -> assertThat(g.value()).isEqualTo(1));
        assertThat(meters.find(MetricNames.OPERATOR_RECONCILES).tags("namespace", ns, "batch", "metered", "result", "ok")
                .counter()).satisfies(c -> assertThat(c.count()).isPositive());
    }

    /**
     * Every request of the operator and of each master was allowed, and each verb their Roles grant was needed: with
     * any one removed, the API server refuses a request the flows above made (or the operator could no longer grant
     * the master's Role), with its 403 text. Runs last, over what the other tests did.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void everyRequestWasAllowedAndEveryVerbOfTheRolesWasNeeded() {
        // refused on purpose: the TTL test takes the operator's delete away for a while
        List<ApiServer.AuditEvent> refused = apiServer.audit(e -> !e.allowed() && e.code() == 403
                && (e.username().equals(OPERATOR_USER) || e.username().endsWith("-master"))
                && !(e.verb().equals("delete") && e.name().equals("brief")));

        Authorizer.Policy policy = apiServer.policy();
        List<String> unneeded = new ArrayList<>();
        List<PolicyRule> operatorRules = policy.rulesOf("ClusterRole", null, OPERATOR).orElseThrow();
        for (int i = 0; i < operatorRules.size(); i++) {
            for (String verb : operatorRules.get(i).getVerbs()) {
                List<ApiServer.AuditEvent> broken = apiServer.refusedUnder(policy.withoutVerb("ClusterRole", null, OPERATOR, i, verb));
                if (broken.isEmpty()) unneeded.add("ClusterRole " + OPERATOR + " " + describe(operatorRules.get(i), verb));
            }
        }
        List<Role> masterRoles = client.rbac().roles().inAnyNamespace().list().getItems().stream()
                .filter(r -> r.getMetadata().getNamespace().startsWith("flow-") && r.getMetadata().getName().endsWith("-master"))
                .toList();
        assertThat(masterRoles).as("the flows made master Roles").isNotEmpty();
        Set<String> masterGrants = new java.util.TreeSet<>();
        Set<String> masterNeeded = new java.util.TreeSet<>();
        for (Role role : masterRoles) {
            List<PolicyRule> rules = role.getRules();
            for (int i = 0; i < rules.size(); i++) {
                for (String verb : rules.get(i).getVerbs()) {
                    String grant = describe(rules.get(i).toBuilder().withResourceNames().build(), verb);
                    masterGrants.add(grant);
                    var without = policy.withoutVerb("Role", role.getMetadata().getNamespace(), role.getMetadata().getName(), i, verb);
                    if (!apiServer.refusedUnder(without).isEmpty()) masterNeeded.add(grant);
                }
            }
        }
        masterGrants.removeAll(masterNeeded);
        masterGrants.forEach(g -> unneeded.add("the master Role " + g));
        // the operator's Lease Role: a verb is needed when a request needed it, or when JOSDK's start check (a
        // SelfSubjectRulesReview, which it made) would no longer find it and refuse to start
        assertThat(apiServer.audit(e -> e.username().equals(OPERATOR_USER) && e.resource().equals("selfsubjectrulesreviews")
                && e.allowed())).as("JOSDK checked its Lease rights").isNotEmpty();
        assertThat(apiServer.audit(e -> e.username().equals(OPERATOR_USER) && e.resource().equals("leases")
                && e.verb().equals("patch") && e.allowed())).as("the leader renewed its Lease").isNotEmpty();
        List<PolicyRule> leaseRules = policy.rulesOf("Role", ApiServerResource.OPERATOR_NAMESPACE, OPERATOR).orElseThrow();
        Authorizer.UserInfo operatorUser = Authorizer.UserInfo.serviceAccount(ApiServerResource.OPERATOR_NAMESPACE, OPERATOR);
        assertThat(josdkMayElect(policy, operatorUser)).as("JOSDK's check passes under the Roles as they are").isTrue();
        for (int i = 0; i < leaseRules.size(); i++) {
            for (String verb : leaseRules.get(i).getVerbs()) {
                var without = policy.withoutVerb("Role", ApiServerResource.OPERATOR_NAMESPACE, OPERATOR, i, verb);
                if (apiServer.refusedUnder(without).isEmpty() && josdkMayElect(without, operatorUser)) {
                    unneeded.add("Role " + OPERATOR + " " + describe(leaseRules.get(i), verb));
                }
            }
        }
        assertThat(refused).as("requests the API server refused").isEmpty();
        assertThat(unneeded).as("verbs no request of the flows needed: drop them, or add the flow that needs them").isEmpty();
    }

    /**
     * JOSDK's LeaderElectionManager.checkLeaseAccess: the rules review of the Lease's namespace must grant get, create
     * and update on leases (by any name, or by the Lease's); else the operator does not start.
     */
    static boolean josdkMayElect(Authorizer.Policy policy, Authorizer.UserInfo user) {
        var review = ApiServer.rulesReview(policy, user, ApiServerResource.OPERATOR_NAMESPACE);
        Set<String> verbs = new HashSet<>();
        for (var rule : review.getResourceRules()) {
            boolean group = rule.getApiGroups().contains("coordination.k8s.io") || rule.getApiGroups().contains("*");
            boolean resource = rule.getResources().contains("leases") || rule.getResources().contains("*");
            boolean name = rule.getResourceNames().isEmpty() || rule.getResourceNames().contains(OPERATOR);
            if (group && resource && name) verbs.addAll(rule.getVerbs());
        }
        return verbs.contains("*") || verbs.containsAll(List.of("get", "create", "update"));
    }

    static String describe(PolicyRule rule, String verb) {
        return verb + " " + rule.getApiGroups() + " " + rule.getResources()
                + (rule.getResourceNames() == null || rule.getResourceNames().isEmpty() ? "" : " " + rule.getResourceNames());
    }

    /** {@code count} sleep tasks of {@code millis} ms each on 2 workers of 4 slots; {@code extraSpec}: more spec lines. */
    void sleepBatch(String name, int count, int millis, String extraSpec) {
        String items = IntStream.range(0, count).mapToObj(i -> "\"" + millis + "\"").collect(Collectors.joining(", "));
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                spec:
                  tasks:
                    items: [%s]
                  run:
                    builtin: sleep
                  workers: {replicas: 2, cpu: "1", concurrency: 4}
                %s""".formatted(name, items, extraSpec));
    }

    /** The succeeded count once the master has reported the same number twice, two seconds apart. */
    long settledSucceeded(String name) {
        long[] last = {-1};
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(2)).until(() -> {
            long now = get(name).getStatus().getSucceeded();
            boolean same = now == last[0];
            last[0] = now;
            return same;
        });
        return last[0];
    }

    void setSuspend(String name, boolean suspend) {
        MockCluster.suspend(client, ns, name, suspend);
    }

    static String jobCondition(Job job, String type) {
        if (job.getStatus() == null || job.getStatus().getConditions() == null) return null;
        return job.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).map(c -> c.getStatus())
                .findFirst().orElse(null);
    }

    static Condition conditionOf(TaskBatch b, String type) {
        if (b == null || b.getStatus() == null || b.getStatus().getConditions() == null) return null;
        return b.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    List<String> events(String batch) {
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> batch.equals(e.getInvolvedObject().getName())).map(e -> e.getReason()).toList();
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
