package io.taskbatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.operator.ResultsReaderPod;
import io.taskbatch.testing.ApiServer;
import io.taskbatch.testing.ApiServerResource;
import io.taskbatch.testing.Authorizer;
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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
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
 * {@code taskbatch submit | get | describe | watch | results | cancel | redrive} as a user runs them: the packaged jar as a process,
 * with a kubeconfig for the test API server whose user is bound (RoleBinding) to the ClusterRole of
 * {@code k8s/cli/taskbatch-user.yaml} only, against the operator, a {@link Kubelet} and a private RabbitMQ as in
 * {@link OperatorFlowIT}. The last test proves that Role equal to the CLI's requests.
 */
@QuarkusTest
@TestProfile(ClusterCliIT.SmallResultsConfigMap.class)
@QuarkusTestResource(value = ApiServerResource.class, restrictToAnnotatedClass = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterCliIT {
    static final Path USER_ROLE = Path.of("k8s/cli/taskbatch-user.yaml");
    static final String ROLE = "taskbatch-user";
    static final String USER = "jane";
    /** The operator's cap for results ConfigMaps here: 200 squares fit, 1,000 do not. */
    static final int CAP = 60_000;

    public static class SmallResultsConfigMap implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("taskbatch.operator.results-config-map-max-bytes", Integer.toString(CAP));
        }
    }

    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    @InjectApiServer
    ApiServer apiServer;

    @Inject
    Operator operator;

    KubernetesClient admin;
    String ns;
    Path work;
    Path kubeconfig;
    Kubelet kubelet;
    AutoCloseable podLogs;

    /** What one run of the CLI did. */
    record Run(int exit, String out, String err) {
        List<JsonNode> results() throws IOException {
            return OperatorFlowIT.parse(out);
        }
    }

    @BeforeEach
    void cluster() throws IOException {
        admin = apiServer.adminClient();
        MockCluster.start(admin, operator);
        admin.rbac().clusterRoles().load(USER_ROLE.toFile()).createOr(r -> r.update());
        ns = MockCluster.namespace(admin, "cli");
        work = Files.createDirectories(Path.of("target/cli-it").toAbsolutePath().resolve(ns + "-" + System.nanoTime()));
        MockCluster.brokerSecret(admin, ns, "taskbatch-broker", RABBIT.node().amqpUri());
        admin.rbac().roleBindings().inNamespace(ns).resource(new RoleBindingBuilder().withNewMetadata().withName(USER + "-taskbatch")
                .endMetadata().withNewRoleRef(Authorizer.RBAC_GROUP, "ClusterRole", ROLE)
                .addNewSubject().withKind("User").withApiGroup(Authorizer.RBAC_GROUP).withName(USER).endSubject().build()).create();
        String token = apiServer.tokenFor(Authorizer.UserInfo.user(USER));
        kubeconfig = kubeconfig(work.resolve("kubeconfig"), apiServer.url(), token, ns);
        String api = admin.getMasterUrl().toString();
        kubelet = new Kubelet(admin, apiServer::token, ns, JarProcesses.jar().toAbsolutePath(), work, Map.of(
                "KUBERNETES_MASTER", api, "KUBERNETES_TRUST_CERTIFICATES", "true",
                "KUBERNETES_AUTH_TRYKUBECONFIG", "false", "KUBERNETES_NAMESPACE", ns,
                "QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", api, "QUARKUS_KUBERNETES_CLIENT_TRUST_CERTS", "true")).start();
        podLogs = apiServer.servePodLogs(kubelet);
    }

    @AfterEach
    void stop() throws Exception {
        if (podLogs != null) podLogs.close();
        if (kubelet != null) kubelet.close();
    }

    static Path kubeconfig(Path file, String server, String token, String namespace) throws IOException {
        return Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster: {server: "%s"}
                users:
                - name: %s
                  user: {token: "%s"}
                contexts:
                - name: test
                  context: {cluster: test, user: %s, namespace: %s}
                current-context: test
                """.formatted(server, USER, token, USER, namespace));
    }

    /** {@code taskbatch ARGS --kubeconfig FILE}, as the user: the packaged jar in a process of its own. */
    Run cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-XX:TieredStopAtLevel=1", "-Xshare:auto"));
        if (Runtime.version().feature() >= 23) cmd.add("--sun-misc-unsafe-memory-access=allow"); // as bin/taskbatch does
        cmd.addAll(List.of("-jar", JarProcesses.jar().toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        if (args.length > 0 && !List.of(args).contains("--kubeconfig")) cmd.addAll(List.of("--kubeconfig", kubeconfig.toString()));
        String name = "cli-" + System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile())
                .redirectOutput(work.resolve(name + ".out").toFile()).redirectError(work.resolve(name + ".err").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("KUBERNETES") || k.equals("KUBECONFIG"));
        pb.environment().put("HOME", work.toString()); // no ~/.kube/config of this machine
        Process p = pb.start();
        if (!p.waitFor(4, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("taskbatch " + String.join(" ", args) + " still running after 4 minutes:\n"
                    + Files.readString(work.resolve(name + ".err")));
        }
        return new Run(p.exitValue(), Files.readString(work.resolve(name + ".out")), Files.readString(work.resolve(name + ".err")));
    }

    Path manifest(String name, String yaml) throws IOException {
        return Files.writeString(work.resolve(name + ".yaml"), yaml);
    }

    TaskBatch get(String name) {
        return admin.resources(TaskBatch.class).inNamespace(ns).withName(name).get();
    }

    static Set<Long> ids(List<JsonNode> results) {
        List<Long> ids = results.stream().map(r -> r.get("id").asLong()).toList();
        assertThat(ids).as("no result twice").doesNotHaveDuplicates();
        return Set.copyOf(ids);
    }

    static Set<Long> range(int n) {
        return IntStream.range(0, n).mapToObj(i -> (long) i).collect(Collectors.toSet());
    }

    @Test
    @Order(1)
    void submitWatchOfASucceedingBatchExits0AndGetDescribeAndResultsShowIt() throws Exception {
        Path file = manifest("squares", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: squares
                spec:
                  tasks:
                    range: {from: 1, to: 200}
                  run:
                    builtin: square
                  workers: {replicas: 1, cpu: "1", concurrency: 2}
                """);
        Run submit = cli("submit", file.toString(), "--watch", "--progress", "plain");
        assertThat(submit.exit()).as(submit.err()).isZero();
        assertThat(submit.out()).isEqualTo("taskbatch.taskbatch.io/squares created in namespace " + ns + "\n");
        assertThat(submit.err()).contains("squares: succeeded: 200/200 done, 200 succeeded, 0 failed");
        assertThat(get("squares").getStatus().getPhase()).isEqualTo("Succeeded");

        Run table = cli("get");
        assertThat(table.exit()).as(table.err()).isZero();
        List<String> lines = table.out().lines().toList();
        assertThat(lines.get(0)).matches("NAME +PHASE +DONE +FAILED +WORKERS +RATE +ETA +AGE");
        assertThat(lines.get(1)).matches("squares +Succeeded +200/200 +0 +\\S+ +\\d+/s +0s +\\d+s");
        Run one = cli("get", "squares", "-o", "wide");
        assertThat(one.out()).contains("MESSAGE").contains("all 200 tasks done: 200 succeeded, 0 failed");

        Run describe = cli("describe", "squares");
        assertThat(describe.exit()).as(describe.err()).isZero();
        assertThat(describe.out()).containsPattern("(?m)^Name: +squares$").containsPattern("(?m)^Namespace: +" + ns + "$")
                .containsPattern("(?m)^Phase: +Succeeded$").containsPattern("(?m)^  Tasks: +range 1 to 200$")
                .containsPattern("(?m)^  Run: +builtin square$").containsPattern("(?m)^  Workers: +replicas 1 .*concurrency 2$")
                .containsPattern("(?m)^  Done: +200/200$").containsPattern("(?m)^  Succeeded: +200$")
                .containsPattern("(?m)^  Failed: +0$")
                .containsPattern("(?m)^Results: +ConfigMap squares-results key results.jsonl \\(all 200 results\\)$");
        assertThat(describe.out()).containsPattern("(?m)^  Complete +True +TasksSucceeded ")
                .containsPattern("(?m)^  Valid +True +SpecValid ").containsPattern("(?m)^  Failed +False ");
        assertThat(describe.out()).containsPattern("(?m)^  Normal +Started ").containsPattern("(?m)^  Normal +Completed ");

        Run results = cli("results", "squares");
        assertThat(results.exit()).as(results.err()).isZero();
        assertThat(results.err()).isEmpty();
        assertThat(ids(results.results())).isEqualTo(range(200));
        Run failed = cli("results", "squares", "--failed");
        assertThat(failed.exit()).isZero();
        assertThat(failed.out()).isEmpty();

        Run again = cli("submit", file.toString());
        assertThat(again.exit()).isEqualTo(2);
        assertThat(again.err().strip()).isEqualTo("TaskBatch " + ns + "/squares already exists: delete it first (kubectl delete tb"
                + " squares -n " + ns + ") or give this one another name");
    }

    @Test
    @Order(2)
    void submitWatchOfAFailingBatchExits1AndDescribeAndResultsShowTheFailures() throws Exception {
        Path file = manifest("doomed", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: doomed
                spec:
                  tasks:
                    items: ["1", "2", "not-a-number", "4"]
                  run:
                    builtin: square
                  workers: {replicas: 1, cpu: "1", concurrency: 1}
                  failurePolicy: {maxFailedTasks: 0}
                """);
        Run submit = cli("submit", file.toString(), "--watch", "--progress", "plain");
        assertThat(submit.exit()).as(submit.err()).isEqualTo(1);
        assertThat(submit.err()).contains("doomed: FAILED:").contains("  why: ").contains("task 2 (input not-a-number");

        Run describe = cli("describe", "doomed");
        assertThat(describe.out()).containsPattern("(?m)^Phase: +Failed$").contains("First failures:\n  task 2 (input not-a-number, 1 attempt): ")
                .containsPattern("(?m)^  Failed +True +TasksFailed ").containsPattern("(?m)^  Complete +False ");
        Run table = cli("get", "doomed");
        assertThat(table.out().lines().toList().get(1)).matches("doomed +Failed +\\S+ +1 +.*");

        Run failed = cli("results", "doomed", "--failed");
        assertThat(failed.exit()).as(failed.err()).isZero();
        assertThat(failed.results()).singleElement().satisfies(r -> {
            assertThat(r.get("id").asLong()).isEqualTo(2);
            assertThat(r.get("status").asText()).isEqualTo("failed");
        });

        Run watch = cli("watch", "doomed", "--progress", "none");
        assertThat(watch.exit()).as("an already failed batch").isEqualTo(1);
    }

    @Test
    @Order(3)
    void aBadManifestExits2AndCreatesNothingAndSoDoBadNames() throws Exception {
        Path bad = manifest("bad", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: bad
                spec:
                  tasks:
                    items: ["1"]
                    range: {from: 1, to: 2}
                  run:
                    builtin: square
                  retry: {maxAttempt: 3}
                """);
        Run submit = cli("submit", bad.toString(), "--watch");
        assertThat(submit.exit()).isEqualTo(2);
        assertThat(submit.err()).startsWith("invalid manifest " + bad + ":")
                .contains("spec.tasks: set exactly one of items, range, configMap, files; found 2: items, range")
                .contains("spec.retry.maxAttempt: unknown field \"maxAttempt\"");
        assertThat(submit.out()).isEmpty();

        Path elsewhere = manifest("elsewhere", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: elsewhere, namespace: not-%s}
                spec:
                  tasks: {items: ["1"]}
                  run: {builtin: square}
                """.formatted(ns));
        Run conflict = cli("submit", elsewhere.toString(), "-n", ns);
        assertThat(conflict.exit()).isEqualTo(2);
        assertThat(conflict.err().strip()).isEqualTo("the manifest's namespace \"not-" + ns + "\" is not --namespace \"" + ns
                + "\": drop one of them, or make them the same");
        assertThat(admin.resources(TaskBatch.class).inNamespace(ns).list().getItems()).as("nothing created").isEmpty();

        for (String command : List.of("get", "describe", "watch", "results")) {
            Run none = cli(command, "nosuch");
            assertThat(none.exit()).as(command).isEqualTo(2);
            assertThat(none.err().strip()).as(command).isEqualTo("there is no TaskBatch \"nosuch\" in namespace " + ns);
        }
        Run empty = cli("get");
        assertThat(empty.exit()).isZero();
        assertThat(empty.err().strip()).isEqualTo("No TaskBatches found in namespace " + ns + ".");
        Run context = cli("get", "--context", "nosuch");
        assertThat(context.exit()).isEqualTo(2);
        assertThat(context.err().strip()).isEqualTo("--context: there is no context \"nosuch\" in the kubeconfig");
    }

    @Test
    @Order(4)
    void anUnreachableApiServerIsOneLineAndExit3() throws Exception {
        Path nowhere = kubeconfig(work.resolve("nowhere"), "http://127.0.0.1:1/", "x", ns);
        for (String[] args : List.of(new String[] {"get"}, new String[] {"watch", "squares"}, new String[] {"results", "squares"})) {
            List<String> all = new ArrayList<>(List.of(args));
            all.addAll(List.of("--kubeconfig", nowhere.toString()));
            Run run = cli(all.toArray(String[]::new));
            assertThat(run.exit()).as(run.err()).isEqualTo(3);
            assertThat(run.err().lines().toList()).as(run.err()).singleElement().asString()
                    .startsWith("cannot reach the Kubernetes API at http://127.0.0.1:1/ (").contains("Connection refused");
            assertThat(run.out()).isEmpty();
        }
    }

    @Test
    @Order(5)
    void resultsBeyondTheConfigMapCapComeWholeFromTheClaimThroughAReaderPod() throws Exception {
        int total = 3000;
        Set<Long> bad = Set.of(7L, 500L, 1999L, 2998L);
        String lines = IntStream.range(0, total).mapToObj(i -> bad.contains((long) i) ? "bad-" + i : Integer.toString(i + 1))
                .collect(Collectors.joining("\n"));
        admin.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("numbers").endMetadata()
                .addToData("numbers.txt", lines).build()).create();
        Path file = manifest("big", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: big
                spec:
                  tasks:
                    configMap: {name: numbers, key: numbers.txt}
                  run:
                    builtin: square
                  workers: {replicas: 2, cpu: "1", concurrency: 4}
                  failurePolicy: {maxFailedTasks: 10}
                  results: {claimName: out, path: big/results.jsonl}
                """);
        Run submit = cli("submit", file.toString(), "--watch", "--progress", "none");
        assertThat(submit.exit()).as(submit.err()).isZero();
        Path onClaim = work.resolve("claims/out/big/results.jsonl");
        assertThat(Files.size(onClaim)).as("more than the ConfigMap cap").isGreaterThan(CAP);

        Run results = cli("results", "big");
        assertThat(results.exit()).as(results.err()).isZero();
        assertThat(results.err()).isEmpty();
        assertThat(ids(results.results())).isEqualTo(range(total));
        Run failed = cli("results", "big", "--failed");
        assertThat(failed.exit()).as(failed.err()).isZero();
        // exactly the failed ones of the whole (the bad inputs; a task may also end dead, which is the engine's business)
        Set<Long> failedInAll = results.results().stream().filter(r -> r.get("status").asText().equals("failed"))
                .map(r -> r.get("id").asLong()).collect(Collectors.toSet());
        assertThat(ids(failed.results())).isEqualTo(failedInAll).containsAll(bad);
        assertThat(failed.results()).allSatisfy(r -> assertThat(r.get("status").asText()).isEqualTo("failed"));

        List<PodProcess> readers = kubelet.barePods();
        assertThat(readers).as("one reader pod a run").hasSize(2).allSatisfy(p -> {
            assertThat(p.name()).startsWith("big-results-");
            assertThat(p.phase()).isIn(PodProcess.Phase.SUCCEEDED, PodProcess.Phase.DELETED);
            assertThat(p.apiAccess()).as("no API token").isFalse();
            assertThat(p.image()).as("the operator's image, from the master Job").isEqualTo("taskbatch:test");
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> admin.pods().inNamespace(ns)
                .withLabel("app.kubernetes.io/component", ResultsReaderPod.COMPONENT).list().getItems().isEmpty());
        Run describe = cli("describe", "big");
        assertThat(describe.out()).containsPattern("(?m)^  Results: +claim out, file big/results.jsonl$")
                .containsPattern("(?m)^Results: +file \\S*/big/results.jsonl$"); // the kubelet here puts the claim elsewhere
    }

    @Test
    @Order(6)
    void resultsOfACappedConfigMapSaySoAndPointToTheClaim() throws Exception {
        Path file = manifest("capped", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: capped
                spec:
                  tasks:
                    range: {from: 1, to: 1000}
                  run:
                    builtin: square
                  workers: {replicas: 1, cpu: "1", concurrency: 2}
                """);
        Run submit = cli("submit", file.toString(), "--watch", "--progress", "none");
        assertThat(submit.exit()).as(submit.err()).isZero();
        Run results = cli("results", "capped");
        assertThat(results.exit()).as(results.err()).isZero();
        int kept = results.results().size();
        assertThat(kept).isBetween(1, 999);
        assertThat(ids(results.results())).hasSize(kept);
        assertThat(results.err().strip()).isEqualTo("only the first " + kept + " of 1000 results fit in ConfigMap capped-results"
                + " (its size is capped); the others were not kept. To keep every result, give the batch"
                + " spec.results.claimName (a PersistentVolumeClaim) and run it again.");
    }

    @Test
    @Order(7)
    void resultsOfABatchStillRunningAreThoseSoFarAndSaySo() throws Exception {
        Path file = manifest("slow", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: slow
                spec:
                  tasks:
                    items: [%s]
                  run:
                    builtin: sleep
                  workers: {replicas: 1, cpu: "1", concurrency: 2}
                  results: {claimName: out}
                """.formatted(IntStream.range(0, 400).mapToObj(i -> "\"100\"").collect(Collectors.joining(", "))));
        Run submit = cli("submit", file.toString());
        assertThat(submit.exit()).as(submit.err()).isZero();
        await().atMost(Duration.ofMinutes(2)).until(() -> {
            TaskBatch b = get("slow");
            return b.getStatus() != null && b.getStatus().getSucceeded() != null && b.getStatus().getSucceeded() >= 10;
        });
        Run results = cli("results", "slow");
        assertThat(results.exit()).as(results.err()).isZero();
        assertThat(results.err()).startsWith("TaskBatch " + ns + "/slow is Running: its results are incomplete (");
        assertThat(results.results().size()).isBetween(1, 399);
        ids(results.results());
        Run watch = cli("watch", "slow", "--progress", "plain");
        assertThat(watch.exit()).as(watch.err()).isZero();
        assertThat(watch.err()).contains("slow: Running").containsPattern("slow: \\d+/400 done, 0 failed, \\d+/s")
                .contains("slow: succeeded: 400/400 done");
    }

    @Test
    @Order(8)
    void theKubectlPluginRunsTheSameCommands() throws Exception {
        Path onPath = Files.createDirectories(work.resolve("path"));
        Path plugin = Files.createSymbolicLink(onPath.resolve("kubectl-taskbatch"), Path.of("bin/kubectl-taskbatch").toAbsolutePath());
        ProcessBuilder pb = new ProcessBuilder(plugin.toString(), "get", "--kubeconfig", kubeconfig.toString())
                .directory(work.toFile()).redirectOutput(work.resolve("plugin.out").toFile())
                .redirectError(work.resolve("plugin.err").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("HOME", work.toString());
        Process p = pb.start();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String err = Files.readString(work.resolve("plugin.err"));
        assertThat(p.exitValue()).as(err).isZero();
        assertThat(err.strip()).isEqualTo("No TaskBatches found in namespace " + ns + ".");
    }

    @Test
    @Order(9)
    void cancelStopsARunningBatchForGoodAndEveryTaskHasOneLine() throws Exception {
        int total = 400;
        Path file = manifest("halted", """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: halted
                spec:
                  tasks:
                    items: [%s]
                  run:
                    builtin: sleep
                  workers: {replicas: 1, cpu: "1", concurrency: 2}
                  results: {claimName: out}
                """.formatted(IntStream.range(0, total).mapToObj(i -> "\"100\"").collect(Collectors.joining(", "))));
        assertThat(cli("submit", file.toString()).exit()).isZero();
        await().atMost(Duration.ofMinutes(2)).until(() -> {
            TaskBatch b = get("halted");
            return b.getStatus() != null && b.getStatus().getSucceeded() != null && b.getStatus().getSucceeded() >= 10;
        });
        Run cancel = cli("cancel", "halted", "--wait");
        assertThat(cancel.exit()).as(cancel.err()).isZero();
        assertThat(cancel.out()).startsWith("taskbatch halted cancelled:");
        TaskBatch b = get("halted");
        assertThat(b.getSpec().isCancel()).isTrue();
        assertThat(b.getStatus().getPhase()).isEqualTo("Failed");
        assertThat(b.getStatus().getConditions()).filteredOn(c -> c.getType().equals("Failed")).singleElement()
                .satisfies(c -> {
                    assertThat(c.getStatus()).isEqualTo("True");
                    assertThat(c.getReason()).isEqualTo("Cancelled");
                    assertThat(c.getMessage()).isEqualTo("the user cancelled the batch (spec.cancel)");
                });
        long succeeded = b.getStatus().getSucceeded();
        long cancelled = b.getStatus().getCancelled();
        assertThat(succeeded).as("stopped early").isBetween(10L, total - 1L);
        assertThat(succeeded + b.getStatus().getFailed() + cancelled).as("every task counted once").isEqualTo(total);

        Run results = cli("results", "halted");
        assertThat(results.exit()).as(results.err()).isZero();
        assertThat(ids(results.results())).as("every id once, kept").isEqualTo(range(total));
        assertThat(results.results().stream().filter(r -> r.get("status").asText().equals("cancelled")))
                .hasSize((int) cancelled)
                .allSatisfy(r -> assertThat(r.get("error").asText()).isEqualTo("cancelled: the user cancelled the batch (spec.cancel)"));
        assertThat(results.results().stream().filter(r -> r.get("status").asText().equals("succeeded"))).hasSize((int) succeeded);
        Run describe = cli("describe", "halted");
        assertThat(describe.out()).containsPattern("(?m)^  Failed +True +Cancelled ").containsPattern("(?m)^  Normal +Cancelled ")
                .containsPattern("(?m)^  Cancelled: +" + cancelled + "$");
        await().atMost(Duration.ofSeconds(30)).until(() -> kubelet.pods("halted-workers").isEmpty());

        Run again = cli("cancel", "halted");
        assertThat(again.exit()).isZero();
        assertThat(again.out().strip()).isEqualTo("taskbatch halted is already Failed: nothing to cancel");

        // then the user runs what the cancel left: a new round of just those tasks, results replaced by id
        Run redrive = cli("redrive", "halted", "--cancelled", "--wait");
        assertThat(redrive.exit()).as(redrive.err()).isZero();
        assertThat(redrive.out()).startsWith("taskbatch halted round 1: " + cancelled + " tasks run again (the cancelled ones)");
        TaskBatch redriven = get("halted");
        assertThat(redriven.getSpec().isCancel()).as("the redrive lifts the cancel").isFalse();
        assertThat(redriven.getStatus().getRound()).isEqualTo(1);
        assertThat(redriven.getStatus().getPhase()).isEqualTo("Succeeded");
        assertThat(redriven.getStatus().getSucceeded()).isEqualTo(total);
        assertThat(redriven.getStatus().getCancelled()).isNull();
        Run all = cli("results", "halted");
        assertThat(ids(all.results())).isEqualTo(range(total));
        assertThat(all.results()).allSatisfy(r -> assertThat(r.get("status").asText()).isEqualTo("succeeded"));
        Run described = cli("describe", "halted");
        assertThat(described.out()).containsPattern("(?m)^  Redrive: +round 1: the cancelled tasks run again$")
                .containsPattern("(?m)^  Round: +1 \\(the counts are the whole batch's\\)$")
                .containsPattern("(?m)^  Normal +Redriven ");
        Run nothing = cli("redrive", "halted");
        assertThat(nothing.exit()).isZero();
        assertThat(nothing.out().strip()).isEqualTo("taskbatch halted has no failed, dead or cancelled tasks: nothing to run again");
    }

    /**
     * Every request the CLI made was allowed under {@code k8s/cli/taskbatch-user.yaml}, and every verb there was needed:
     * replayed without any one of them, the API server refuses a request the commands above made.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void theUserRoleGrantsWhatTheCommandsNeedAndNothingMore() {
        List<ApiServer.AuditEvent> mine = apiServer.audit(e -> e.username().equals(USER));
        assertThat(mine).as("the commands ran as " + USER).isNotEmpty();
        assertThat(mine.stream().filter(e -> e.code() == 403)).as("requests the API server refused").isEmpty();
        Authorizer.Policy policy = apiServer.policy();
        ClusterRole role = admin.rbac().clusterRoles().withName(ROLE).get();
        List<String> unneeded = new ArrayList<>();
        for (int i = 0; i < role.getRules().size(); i++) {
            PolicyRule rule = role.getRules().get(i);
            for (String verb : rule.getVerbs()) {
                if (apiServer.refusedUnder(policy.withoutVerb("ClusterRole", null, ROLE, i, verb)).isEmpty()) {
                    unneeded.add(OperatorFlowIT.describe(rule, verb));
                }
            }
        }
        assertThat(unneeded).as("verbs no command needed").isEmpty();
    }
}
