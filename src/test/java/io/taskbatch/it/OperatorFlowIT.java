package io.taskbatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.InjectApiServer;
import io.taskbatch.testing.Kubelet;
import io.taskbatch.testing.MockCluster;
import io.taskbatch.testing.PodProcess;
import io.taskbatch.testing.RabbitExtension;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole flow without Docker: the operator against an RBAC-enforcing API server ({@link ApiServerResource}, the
 * operator as its ServiceAccount, the test as cluster admin), a {@link Kubelet} that
 * runs each pod of each Job it creates as a process of our jar, and a private RabbitMQ. A TaskBatch
 * goes from applied to Complete with exact counts and results, with and without a worker SIGKILLed.
 */
@QuarkusTest
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
class OperatorFlowIT {
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
    }

    @Test
    void aWorkerKilledMidBatchLosesNothingAndCountsNothingTwice() throws IOException {
        String items = IntStream.range(0, 2000).mapToObj(i -> "\"10\"").collect(Collectors.joining(", "));
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: sleepy
                spec:
                  tasks:
                    items: [%s]
                  run:
                    builtin: sleep
                  workers:
                    replicas: 2
                    cpu: "1"
                    concurrency: 4
                  results:
                    claimName: out
                    path: sleepy/results.jsonl
                """.formatted(items));
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

    @Test
    void theMasterKilledMidBatchResumesFromItsCheckpoint() throws IOException {
        String items = IntStream.range(0, 1500).mapToObj(i -> "\"10\"").collect(Collectors.joining(", "));
        MockCluster.create(client, ns, """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: resume
                spec:
                  tasks:
                    items: [%s]
                  run:
                    builtin: sleep
                  workers: {replicas: 2, cpu: "1", concurrency: 4}
                """.formatted(items));
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
}
