package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.packaging.PodSecurity;
import io.taskbatch.plan.ManifestLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pods the operator builds for each example batch may run in a namespace that enforces the
 * restricted Pod Security Standard, carry no credential, and the master's Role asks for nothing
 * the operator's ClusterRole (k8s/operator/10-rbac.yaml) does not hold (Kubernetes refuses that).
 */
class PodTemplatesTest {
    /** OperatorConfig's defaults, as the operator runs with nothing configured. */
    static final OperatorConfig DEFAULTS = new OperatorConfig() {
        @Override public String image() { return "ghcr.io/taskbatch/taskbatch:latest"; }
        @Override public String imagePullPolicy() { return "IfNotPresent"; }
        @Override public String brokerSecret() { return "taskbatch-broker"; }
        @Override public String brokerSecretKey() { return "uri"; }
        @Override public String masterCpu() { return "250m"; }
        @Override public String masterMemory() { return "512Mi"; }
        @Override public Duration resyncInterval() { return Duration.ofSeconds(30); }
        @Override public int resultsConfigMapMaxBytes() { return 900_000; }
        @Override public Duration queueCleanupTimeout() { return Duration.ofMinutes(10); }
        @Override public Duration metricsLinger() { return Duration.ofSeconds(20); }
        @Override public Optional<String> workerServiceAccount() { return Optional.empty(); }
        @Override public LeaderElection leaderElection() { throw new UnsupportedOperationException("not the pods' concern"); }
    };

    /** Every example, as the API server would hand it to the operator; and squares with its results on a claim. */
    static Stream<Arguments> batches() throws Exception {
        List<Arguments> batches = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("k8s", "examples"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                batches.add(Arguments.of(file.getFileName().toString(), applied(file)));
            }
        }
        TaskBatch onClaim = applied(Path.of("k8s", "examples", "squares.yaml"));
        onClaim.getSpec().getResults().setClaimName("results");
        batches.add(Arguments.of("squares.yaml, results on a claim", onClaim));
        return batches.stream();
    }

    static TaskBatch applied(Path file) throws Exception {
        TaskBatch batch = ManifestLoader.load(file).batch();
        batch.getMetadata().setNamespace("default");
        batch.getMetadata().setUid("3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
        return batch;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("batches")
    void theMasterPodIsRestrictedAndHoldsNoCredential(String name, TaskBatch batch) {
        PodSpec pod = new MasterJobDependent(DEFAULTS).build(batch, null).getSpec().getTemplate().getSpec();
        assertThat(PodSecurity.restrictedViolations(pod)).isEmpty();
        assertThat(PodSecurity.plainCredentials(pod)).isEmpty();
        assertThat(pod.getServiceAccountName()).as("its own identity, bound to its own Role")
                .isEqualTo(batch.getMetadata().getName() + "-master");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("batches")
    void bothRolesServeMetricsAndReadinessOnTheNamedPortTheirProcessListensOn(String name, TaskBatch batch) {
        for (PodSpec pod : List.of(new MasterJobDependent(DEFAULTS).build(batch, null).getSpec().getTemplate().getSpec(),
                new WorkerJobDependent(DEFAULTS).build(batch, null).getSpec().getTemplate().getSpec())) {
            var container = pod.getContainers().get(0);
            assertThat(container.getPorts()).singleElement().satisfies(port -> {
                assertThat(port.getName()).as("the PodMonitor's port").isEqualTo("metrics");
                assertThat(container.getEnv()).as("the process listens where the port says")
                        .anySatisfy(e -> assertThat(e.getName() + "=" + e.getValue())
                                .isEqualTo("TASKBATCH_HTTP_PORT=" + port.getContainerPort()));
            });
            assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
            assertThat(container.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("metrics");
            assertThat(container.getEnv()).as("the final counts stay scrapable a while, within the grace period")
                    .anySatisfy(e -> assertThat(e.getName() + "=" + e.getValue()).isEqualTo("QUARKUS_SHUTDOWN_DELAY=20000ms"));
            assertThat(java.util.Objects.requireNonNullElse(pod.getTerminationGracePeriodSeconds(), 30L))
                    .as("a SIGTERMed pod is not killed before it served them").isGreaterThan(20);

        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("batches")
    void theWorkerPodIsRestrictedHoldsNoCredentialAndNoToken(String name, TaskBatch batch) {
        PodSpec pod = new WorkerJobDependent(DEFAULTS).build(batch, null).getSpec().getTemplate().getSpec();
        assertThat(PodSecurity.restrictedViolations(pod)).isEmpty();
        assertThat(PodSecurity.plainCredentials(pod)).isEmpty();
        assertThat(pod.getAutomountServiceAccountToken()).as("automountServiceAccountToken").isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("batches")
    void theMasterRoleAsksOnlyForWhatTheOperatorHolds(String name, TaskBatch batch) throws Exception {
        List<String> held = grants(operatorClusterRole().getRules());
        assertThat(grants(MasterIdentityDependents.rules(batch))).isNotEmpty().allSatisfy(g -> assertThat(held).contains(g));
    }

    static ClusterRole operatorClusterRole() throws Exception {
        var kube = new KubernetesSerialization();
        try (MappingIterator<JsonNode> docs = new YAMLMapper().readerFor(JsonNode.class)
                .readValues(Path.of("k8s", "operator", "10-rbac.yaml").toFile())) {
            return docs.readAll().stream().filter(d -> d.path("kind").asText().equals("ClusterRole"))
                    .map(d -> kube.convertValue(d, ClusterRole.class)).findFirst().orElseThrow();
        }
    }

    /** Each (API group, resource, verb) the rules grant; resourceNames only narrow a grant, so they are left out. */
    static List<String> grants(List<PolicyRule> rules) {
        List<String> out = new ArrayList<>();
        for (PolicyRule rule : rules)
            for (String group : rule.getApiGroups())
                for (String resource : rule.getResources())
                    for (String verb : rule.getVerbs()) out.add(group + " " + resource + " " + verb);
        return out;
    }
}
