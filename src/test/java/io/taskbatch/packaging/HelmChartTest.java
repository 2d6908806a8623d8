package io.taskbatch.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.taskbatch.packaging.ChartRenderer.HelmFailure;
import io.taskbatch.packaging.ChartRenderer.Render;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Helm chart under helm/taskbatch, rendered by the real Helm engine (helm-java) with the
 * default values and other value sets: it lints, every object parses, every pod may run in a
 * restricted namespace with no credential written into it, the RBAC is the contract's, the values
 * schema refuses typos, and the CRD is the committed one.
 */
class HelmChartTest {
    static final Path CHART = Path.of("helm/taskbatch");
    static final Path VALUES = Path.of("src/test/resources/helm");
    static final String RELEASE_NS = "tb-system";
    static final KubernetesSerialization KUBE = new KubernetesSerialization();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    /** The bundled RabbitMQ's URI: user, a generated password of 24 letters and digits, the Service. */
    static final Pattern BUNDLED_URI = Pattern.compile("amqp://taskbatch:([A-Za-z0-9]{24})@taskbatch-rabbitmq\\.tb-system\\.svc:5672");

    @TempDir
    static Path tmp;
    static ChartRenderer helm;
    /** A copy of the chart whose test pod is a plain manifest: helm-java's template prints no hooks. */
    static Path chartWithHooksAsManifests;

    @BeforeAll
    static void startHelm() throws IOException {
        helm = ChartRenderer.start(tmp);
        chartWithHooksAsManifests = hooksAsManifests(CHART, tmp.resolve("chart-with-hooks-as-manifests"));
    }

    @AfterAll
    static void stopHelm() throws IOException {
        if (helm != null) helm.close();
    }

    @BeforeEach
    void emptyCluster() {
        helm.clearSecrets();
    }

    // ---- the value sets every structural check runs on ----

    static Stream<String> valueSets() {
        return Stream.of("default", "existing-broker.yaml", "metrics.yaml", "monitoring.yaml", "namespaces-image.yaml", "gitops.yaml");
    }

    static Render valueSet(String name) {
        Render render = Render.of(CHART);
        return name.equals("default") ? render : render.values(VALUES.resolve(name));
    }

    @Test
    void lintsCleanInStrictMode() throws IOException {
        LintResult lint = helm.lint(CHART);
        assertThat(lint.isFailed()).as("helm lint --strict: %s", lint.getMessages()).isFalse();
        assertThat(lint.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyDocumentIsAKubernetesObjectOfTheRelease(String values) throws IOException {
        Rendered r = render(valueSet(values));
        assertThat(r.objects()).isNotEmpty();
        for (HasMetadata o : r.objects()) {
            String what = o.getKind() + " " + o.getMetadata().getName();
            assertThat(o.getApiVersion()).as(what).isNotBlank();
            assertThat(o.getMetadata().getName()).as(what).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?").hasSizeLessThanOrEqualTo(63);
            assertThat(o.getMetadata().getLabels()).as(what)
                    .containsEntry("app.kubernetes.io/instance", "taskbatch")
                    .containsEntry("app.kubernetes.io/managed-by", "Helm")
                    .containsEntry("helm.sh/chart", "taskbatch-0.1.0")
                    .containsKey("app.kubernetes.io/name");
            boolean clusterScoped = o instanceof ClusterRole || o instanceof ClusterRoleBinding;
            if (clusterScoped) assertThat(o.getMetadata().getNamespace()).as(what).isNull();
            else assertThat(o.getMetadata().getNamespace()).as(what + ": namespaced objects say where").isNotBlank();
        }
        // no two objects of one kind share a name in one namespace
        assertThat(r.objects().stream().map(o -> o.getKind() + " " + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName()))
                .doesNotHaveDuplicates();
        assertThat(r.all(Deployment.class)).hasSize(1);
        assertThat(r.all(Pod.class)).as("the helm test pod").hasSize(1);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyPodMayRunInARestrictedNamespaceWithNoCredentialWrittenIntoIt(String values) throws IOException {
        Map<String, PodSpec> pods = render(valueSet(values)).podSpecs();
        assertThat(pods).containsKeys("Deployment taskbatch", "Pod taskbatch-test-broker");
        if (!values.equals("existing-broker.yaml")) assertThat(pods).containsKey("StatefulSet taskbatch-rabbitmq");
        pods.forEach((what, pod) -> {
            assertThat(PodSecurity.restrictedViolations(pod)).as(what).isEmpty();
            assertThat(PodSecurity.plainCredentials(pod)).as(what).isEmpty();
        });
    }

    @Test
    void defaultValuesInstallTheOperatorWithTheContractsSettings() throws IOException {
        Rendered r = render(Render.of(CHART));
        Deployment deployment = r.one(Deployment.class, "taskbatch");
        assertThat(deployment.getSpec().getReplicas()).as("two replicas, one leader").isEqualTo(2);
        assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
        assertThat(deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable()).isEqualTo(new IntOrString(0));
        assertThat(deployment.getSpec().getStrategy().getRollingUpdate().getMaxSurge()).isEqualTo(new IntOrString(1));
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo(r.one(ServiceAccount.class, "taskbatch").getMetadata().getName());
        Container operator = single(pod.getContainers());
        assertThat(operator.getImage()).isEqualTo("ghcr.io/taskbatch/taskbatch:0.1.0");
        assertThat(operator.getArgs()).containsExactly("operator");
        assertThat(env(operator)).isEqualTo(Map.of(
                "TASKBATCH_HTTP_PORT", "8080",
                "POD_NAMESPACE", "fieldRef metadata.namespace",
                "POD_NAME", "fieldRef metadata.name",
                "TASKBATCH_OPERATOR_LEADER_ELECTION_LEASE_NAME", "taskbatch",
                "TASKBATCH_OPERATOR_IMAGE", "ghcr.io/taskbatch/taskbatch:0.1.0",
                "TASKBATCH_OPERATOR_IMAGE_PULL_POLICY", "IfNotPresent",
                "TASKBATCH_OPERATOR_BROKER_SECRET", "taskbatch-broker",
                "TASKBATCH_LOG_FORMAT", "text"));
        assertThat(operator.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getContainerPort()).isEqualTo(8080);
        });
        assertThat(operator.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
        assertThat(operator.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
        assertThat(operator.getResources().getRequests()).containsOnlyKeys("cpu", "memory");
        assertThat(operator.getResources().getRequests().get("cpu").toString()).isEqualTo("100m");
        assertThat(operator.getResources().getRequests().get("memory").toString()).isEqualTo("256Mi");
        assertThat(operator.getResources().getLimits()).containsOnlyKeys("memory");
        assertThat(operator.getResources().getLimits().get("memory").toString()).isEqualTo("512Mi");
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getRunAsGroup()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getFsGroup()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(operator.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(operator.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(operator.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(operator.getVolumeMounts()).singleElement().satisfies(m -> assertThat(m.getMountPath()).isEqualTo("/tmp"));
        assertThat(pod.getVolumes()).singleElement().satisfies(v -> assertThat(v.getEmptyDir()).isNotNull());
        assertThat(r.all(GenericKubernetesResource.class)).as("no ServiceMonitor unless asked").isEmpty();

        ClusterRoleBinding binding = r.one(ClusterRoleBinding.class, "taskbatch");
        assertThat(binding.getRoleRef().getName()).isEqualTo("taskbatch");
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo("taskbatch");
            assertThat(s.getNamespace()).isEqualTo(RELEASE_NS);
        });
        RoleBinding lease = r.one(RoleBinding.class, "taskbatch", RELEASE_NS);
        assertThat(lease.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(lease.getRoleRef().getName()).isEqualTo(r.one(Role.class, "taskbatch", RELEASE_NS).getMetadata().getName());
        assertThat(lease.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo("taskbatch");
            assertThat(s.getNamespace()).isEqualTo(RELEASE_NS);
        });
    }

    /** With more than one replica a PodDisruptionBudget keeps one up; off with one replica, or when asked. */
    @Test
    void aPodDisruptionBudgetKeepsOneReplicaUp() throws IOException {
        Rendered r = render(Render.of(CHART));
        PodDisruptionBudget pdb = r.one(PodDisruptionBudget.class, "taskbatch");
        assertThat(pdb.getMetadata().getNamespace()).isEqualTo(RELEASE_NS);
        assertThat(pdb.getSpec().getMinAvailable()).isEqualTo(new IntOrString(1));
        assertThat(pdb.getSpec().getMaxUnavailable()).isNull();
        Deployment deployment = r.one(Deployment.class, "taskbatch");
        assertThat(pdb.getSpec().getSelector()).as("selects the operator's pods").isEqualTo(deployment.getSpec().getSelector());
        assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels())
                .containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
        assertThat(render(Render.of(CHART).set("replicaCount", "1")).all(PodDisruptionBudget.class))
                .as("one replica: a budget of one would block every drain").isEmpty();
        assertThat(render(Render.of(CHART).set("podDisruptionBudget.enabled", "false")).all(PodDisruptionBudget.class)).isEmpty();
        assertThat(render(Render.of(CHART).set("replicaCount", "3")).one(Deployment.class, "taskbatch").getSpec().getReplicas())
                .isEqualTo(3);
    }

    @Test
    void bundledRabbitMqGetsAGeneratedPasswordThatTheBrokerUriCarries() throws IOException {
        Rendered r = render(Render.of(CHART));
        Map<String, String> user = decoded(r.one(Secret.class, "taskbatch-rabbitmq"));
        assertThat(user.get("username")).isEqualTo("taskbatch");
        assertThat(user.get("password")).matches("[A-Za-z0-9]{24}");
        String uri = decoded(r.one(Secret.class, "taskbatch-broker")).get("uri");
        Matcher m = BUNDLED_URI.matcher(uri);
        assertThat(m.matches()).as(uri).isTrue();
        assertThat(m.group(1)).as("the same password in both Secrets").isEqualTo(user.get("password"));

        StatefulSet sts = r.one(StatefulSet.class, "taskbatch-rabbitmq");
        Container rabbit = single(sts.getSpec().getTemplate().getSpec().getContainers());
        assertThat(rabbit.getImage()).isEqualTo("rabbitmq:3.13-alpine");
        assertThat(rabbit.getEnv()).extracting(EnvVar::getName).containsExactly("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS");
        assertThat(rabbit.getEnv()).allSatisfy(e -> assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("taskbatch-rabbitmq"));
        for (var probe : List.of(rabbit.getReadinessProbe(), rabbit.getLivenessProbe())) {
            assertThat(probe.getExec().getCommand()).containsExactly("rabbitmq-diagnostics", "-q", "ping");
        }
        PodSpec pod = sts.getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(999L);
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(sts.getSpec().getVolumeClaimTemplates()).singleElement()
                .satisfies(c -> assertThat(c.getSpec().getResources().getRequests().get("storage").toString()).isEqualTo("8Gi"));
        Service service = r.one(Service.class, "taskbatch-rabbitmq");
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> assertThat(p.getPort()).isEqualTo(5672));
        assertThat(service.getSpec().getSelector()).isEqualTo(sts.getSpec().getTemplate().getMetadata().getLabels().entrySet().stream()
                .filter(e -> service.getSpec().getSelector().containsKey(e.getKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        assertThat(service.getSpec().getSelector()).containsEntry("app.kubernetes.io/component", "rabbitmq");
    }

    @Test
    void anUpgradeKeepsTheRabbitMqPasswordAlreadyInTheCluster() throws IOException {
        helm.putSecret(RELEASE_NS, "taskbatch-rabbitmq", Map.of("username", "taskbatch", "password", "keptFromTheFirstInstall"));
        Rendered r = render(Render.of(CHART));
        assertThat(decoded(r.one(Secret.class, "taskbatch-rabbitmq")).get("password")).isEqualTo("keptFromTheFirstInstall");
        assertThat(decoded(r.one(Secret.class, "taskbatch-broker")).get("uri"))
                .isEqualTo("amqp://taskbatch:keptFromTheFirstInstall@taskbatch-rabbitmq.tb-system.svc:5672");
        assertThat(helm.apiRequests()).contains("GET /api/v1/namespaces/tb-system/secrets/taskbatch-rabbitmq");
    }

    @Test
    void theHelmTestPingsTheOperatorsBrokerWithTheSameImage() throws IOException {
        Rendered r = render(Render.of(CHART));
        Pod test = r.one(Pod.class, "taskbatch-test-broker");
        assertThat(test.getMetadata().getAnnotations()).as("a helm test hook in the chart itself")
                .containsEntry(RENAMED_HOOK, "test");
        assertThat(test.getSpec().getRestartPolicy()).isEqualTo("Never");
        Container ping = single(test.getSpec().getContainers());
        assertThat(ping.getImage()).isEqualTo("ghcr.io/taskbatch/taskbatch:0.1.0");
        assertThat(ping.getArgs()).containsExactly("ping");
        assertThat(ping.getEnv()).singleElement().satisfies(e -> {
            assertThat(e.getName()).isEqualTo("TASKBATCH_BROKER_URI");
            assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("taskbatch-broker");
            assertThat(e.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("uri");
        });
        assertThat(r.one(Secret.class, "taskbatch-broker").getData()).containsKey("uri");
    }

    /** The chart's ClusterRole grants what k8s/operator's does (the one OperatorFlowIT proves under RBAC), rule for rule. */
    @Test
    void theClusterRoleGrantsWhatTheManifestsClusterRoleGrants() throws IOException {
        ClusterRole role = render(Render.of(CHART)).one(ClusterRole.class, "taskbatch");
        ClusterRole manifests = null;
        for (JsonNode doc : YAML.readValues(YAML.createParser(Path.of("k8s/operator/10-rbac.yaml").toFile()), JsonNode.class).readAll()) {
            if ("ClusterRole".equals(doc.path("kind").asText())) manifests = KUBE.convertValue(doc, ClusterRole.class);
        }
        assertThat(manifests).as("k8s/operator/10-rbac.yaml has the ClusterRole").isNotNull();
        assertThat(grants(role.getRules())).isEqualTo(grants(manifests.getRules()));
        ManifestsTest.assertEachRuleCommented(Files.readAllLines(CHART.resolve("templates/rbac.yaml")), "templates/rbac.yaml");
    }

    /**
     * The chart's Lease Role grants what k8s/operator's does (OperatorFlowIT proves that one), each on the Lease the
     * operator is told to use: the chart's names it TASKBATCH_OPERATOR_LEADER_ELECTION_LEASE_NAME, k8s/operator's
     * the operator's default.
     */
    @Test
    void theLeaseRoleGrantsWhatTheManifestsRoleGrantsOnTheOperatorsLease() throws Exception {
        Rendered r = render(Render.of(CHART));
        Role chart = r.one(Role.class, "taskbatch", RELEASE_NS);
        String chartLease = env(single(r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec().getContainers()))
                .get("TASKBATCH_OPERATOR_LEADER_ELECTION_LEASE_NAME");
        Role manifests = null;
        for (JsonNode doc : YAML.readValues(YAML.createParser(Path.of("k8s/operator/10-rbac.yaml").toFile()), JsonNode.class).readAll()) {
            if ("Role".equals(doc.path("kind").asText())) manifests = KUBE.convertValue(doc, Role.class);
        }
        assertThat(manifests).as("k8s/operator/10-rbac.yaml has the Lease Role").isNotNull();
        String defaultLease = io.taskbatch.operator.OperatorConfig.LeaderElection.class.getMethod("leaseName")
                .getAnnotation(io.smallrye.config.WithDefault.class).value();
        assertThat(leaseGrants(chart.getRules(), chartLease)).isEqualTo(leaseGrants(manifests.getRules(), defaultLease))
                .containsExactly("coordination.k8s.io/leases create", "coordination.k8s.io/leases get LEASE",
                        "coordination.k8s.io/leases patch LEASE", "coordination.k8s.io/leases update LEASE");
    }

    /** Each verb a Role grants, with LEASE for a grant limited to {@code lease} (any other name fails). */
    static List<String> leaseGrants(List<PolicyRule> rules, String lease) {
        List<String> out = new ArrayList<>();
        for (PolicyRule rule : rules) {
            List<String> names = rule.getResourceNames() == null ? List.of() : rule.getResourceNames();
            assertThat(names).as("limited to the operator's Lease, %s, if at all", lease).allMatch(lease::equals);
            for (String group : rule.getApiGroups())
                for (String resource : rule.getResources())
                    for (String verb : rule.getVerbs()) out.add(group + "/" + resource + " " + verb + (names.isEmpty() ? "" : " LEASE"));
        }
        return out.stream().sorted().toList();
    }

    /** (API group/resource) to its verbs, each pair granted by one rule only. */
    static Map<String, Set<String>> grants(List<PolicyRule> rules) {
        Map<String, Set<String>> granted = new TreeMap<>();
        for (PolicyRule rule : rules) {
            assertThat(rule.getResourceNames()).as("no rule is limited to names").isNullOrEmpty();
            assertThat(rule.getNonResourceURLs()).isNullOrEmpty();
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) {
                    assertThat(granted.put(group + "/" + resource, new TreeSet<>(rule.getVerbs())))
                            .as("%s/%s granted by one rule only", group, resource).isNull();
                }
            }
        }
        return granted;
    }

    @Test
    void anExistingBrokerSecretReplacesTheBundledRabbitMq() throws IOException {
        Rendered r = render(valueSet("existing-broker.yaml"));
        assertThat(r.objects()).as("no RabbitMQ object")
                .noneMatch(o -> o.getMetadata().getName().contains("rabbitmq")
                        || "rabbitmq".equals(o.getMetadata().getLabels().get("app.kubernetes.io/component")));
        assertThat(r.all(StatefulSet.class)).isEmpty();
        assertThat(r.all(Secret.class)).as("the chart writes no Secret: the broker's is the user's").isEmpty();
        Container operator = single(r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec().getContainers());
        assertThat(env(operator)).containsEntry("TASKBATCH_OPERATOR_BROKER_SECRET", "my-broker");
        Container ping = single(r.one(Pod.class, "taskbatch-test-broker").getSpec().getContainers());
        assertThat(ping.getEnv().getFirst().getValueFrom().getSecretKeyRef().getName()).isEqualTo("my-broker");
    }

    @Test
    void exactlyOneBrokerMustBeChosen() {
        assertThatThrownBy(() -> helm.template(valueSet("existing-broker.yaml").set("rabbitmq.enabled", "true")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("set rabbitmq.enabled=false");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("rabbitmq.enabled", "false")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("no broker: set broker.existingSecret");
    }

    @Test
    void brokerSecretNameNamesTheSecretInBatchNamespaces() throws IOException {
        Rendered r = render(Render.of(CHART).set("broker.secretName", "amqp-credentials"));
        assertThat(env(single(r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec().getContainers())))
                .containsEntry("TASKBATCH_OPERATOR_BROKER_SECRET", "amqp-credentials");
        assertThat(r.one(Pod.class, "taskbatch-test-broker").getSpec().getContainers().getFirst().getEnv().getFirst()
                .getValueFrom().getSecretKeyRef().getName()).as("the test reads the release's own broker Secret").isEqualTo("taskbatch-broker");
    }

    @Test
    void copiesOfTheBundledBrokerUriGoToTheListedNamespaces() throws IOException {
        Rendered r = render(valueSet("namespaces-image.yaml"));
        String uri = decoded(r.one(Secret.class, "taskbatch-broker", RELEASE_NS)).get("uri");
        assertThat(uri).startsWith("amqp://batch:").endsWith("@taskbatch-rabbitmq.tb-system.svc:5672");
        for (String ns : List.of("team-a", "team-b")) {
            assertThat(decoded(r.one(Secret.class, "taskbatch-broker", ns)).get("uri")).as(ns).isEqualTo(uri);
        }
    }

    @Test
    void copiesOfAnExistingBrokerSecretAreReadFromTheCluster() throws IOException {
        Render render = valueSet("existing-broker.yaml").set("broker.copyToNamespaces[0]", "team-a");
        assertThatThrownBy(() -> helm.template(render)).as("helm template has no cluster to read it from")
                .isInstanceOf(HelmFailure.class).hasMessageContaining("Secret my-broker with key uri not found in namespace tb-system");

        helm.putSecret(RELEASE_NS, "my-broker", Map.of("uri", "amqps://app:s3cret@broker.example:5671/batch"));
        Rendered r = render(render);
        Secret copy = r.one(Secret.class, "my-broker", "team-a");
        assertThat(decoded(copy)).isEqualTo(Map.of("uri", "amqps://app:s3cret@broker.example:5671/batch"));
        assertThat(r.all(Secret.class)).as("the original stays the user's").hasSize(1);
    }

    @Test
    void metricsOnAddAServiceAndAServiceMonitorScrapingTheOperator() throws IOException {
        Rendered r = render(valueSet("metrics.yaml"));
        Deployment deployment = r.one(Deployment.class, "taskbatch");
        Service service = r.one(Service.class, "taskbatch");
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getPort()).isEqualTo(8080);
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("http");
        });
        assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(service.getSpec().getSelector());

        GenericKubernetesResource monitor = single(r.all(GenericKubernetesResource.class));
        assertThat(monitor.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(monitor.getKind()).isEqualTo("ServiceMonitor");
        assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "prometheus");
        JsonNode spec = KUBE.convertValue(monitor.getAdditionalProperties().get("spec"), JsonNode.class);
        assertThat(spec.at("/endpoints/0/port").asText()).isEqualTo("http");
        assertThat(spec.at("/endpoints/0/path").asText()).isEqualTo("/q/metrics");
        assertThat(spec.at("/endpoints/0/interval").asText()).isEqualTo("15s");
        Map<String, String> selector = KUBE.convertValue(spec.at("/selector/matchLabels"), Map.class);
        assertThat(service.getMetadata().getLabels()).containsAllEntriesOf(selector);
    }

    @Test
    void watchedNamespacesAndACustomImageReachTheOperator() throws IOException {
        Rendered r = render(valueSet("namespaces-image.yaml"));
        PodSpec pod = r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec();
        Container operator = single(pod.getContainers());
        assertThat(operator.getImage()).isEqualTo("registry.example/taskbatch:1.2.3");
        assertThat(operator.getImagePullPolicy()).isEqualTo("Always");
        assertThat(env(operator))
                .containsEntry("QUARKUS_OPERATOR_SDK_CONTROLLERS_TASKBATCH_NAMESPACES", "team-a,team-b")
                .containsEntry("TASKBATCH_OPERATOR_IMAGE", "registry.example/taskbatch-worker:1.2.3")
                .containsEntry("TASKBATCH_OPERATOR_MASTER_MEMORY", "1Gi");
        assertThat(pod.getServiceAccountName()).isEqualTo("batch-operator");
        assertThat(pod.getNodeSelector()).containsEntry("kubernetes.io/os", "linux");
        assertThat(pod.getTolerations()).singleElement().satisfies(t -> assertThat(t.getKey()).isEqualTo("dedicated"));
        assertThat(pod.getAffinity().getNodeAffinity()).isNotNull();
        assertThat(pod.getImagePullSecrets()).singleElement().satisfies(s -> assertThat(s.getName()).isEqualTo("regcred"));
        assertThat(r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getMetadata().getAnnotations())
                .containsEntry("example.com/team", "batch");
        assertThat(single(r.one(Pod.class, "taskbatch-test-broker").getSpec().getContainers()).getImage())
                .isEqualTo("registry.example/taskbatch:1.2.3");
        assertThat(r.one(StatefulSet.class, "taskbatch-rabbitmq").getSpec().getVolumeClaimTemplates())
                .as("persistence off: an emptyDir").isNullOrEmpty();
        // without watchNamespaces the variable is absent: the operator watches every namespace
        Container byDefault = single(render(Render.of(CHART)).one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec().getContainers());
        assertThat(env(byDefault)).doesNotContainKey("QUARKUS_OPERATOR_SDK_CONTROLLERS_TASKBATCH_NAMESPACES");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rabbitmq.enabeld", "replicaCaunt", "rabbitmq.persistence.sise", "metrics.serviceMonitor.enable"})
    void theSchemaRejectsAMisspelledValue(String misspelled) {
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set(misspelled, "true")))
                .isInstanceOf(HelmFailure.class)
                .hasMessageContaining("values don't meet the specifications of the schema")
                .hasMessageContaining("additional properties '" + misspelled.substring(misspelled.lastIndexOf('.') + 1) + "' not allowed");
    }

    @Test
    void theSchemaRejectsWrongTypesAndValues() {
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("replicaCount", "two")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("'/replicaCount': got string, want integer");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("replicaCount", "-1")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/replicaCount");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("podDisruptionBudget.enabled", "maybe")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/podDisruptionBudget/enabled");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("image.pullPolicy", "Sometimes")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("'/image/pullPolicy'");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("watchNamespaces[0]", "Not_A_Namespace")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/watchNamespaces/0");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("rabbitmq.username", "a:b@c")))
                .as("the user goes into a URI").isInstanceOf(HelmFailure.class).hasMessageContaining("/rabbitmq/username");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("logFormat", "xml")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/logFormat");
    }

    @Test
    void logFormatJsonReachesTheOperator() throws IOException {
        Rendered r = render(Render.of(CHART).set("logFormat", "json"));
        Container operator = single(r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec().getContainers());
        assertThat(env(operator)).containsEntry("TASKBATCH_LOG_FORMAT", "json");
    }

    @Test
    void theSchemaClosesEveryLevelAndKnowsExactlyTheValues() throws IOException {
        JsonNode schema = new ObjectMapper().readTree(CHART.resolve("values.schema.json").toFile());
        JsonNode values = YAML.readTree(CHART.resolve("values.yaml").toFile());
        List<String> open = new ArrayList<>();
        closedObjects(schema, "", open);
        assertThat(open).as("schema objects with properties but without additionalProperties: false").isEmpty();
        // values.yaml is validated against the schema at every render; the other way round:
        List<String> schemaOnly = new ArrayList<>();
        schemaOnlyValues(schema, schema, values, "", schemaOnly);
        assertThat(schemaOnly).as("values the schema allows but values.yaml does not set (so README's table misses them)")
                .containsExactly("global");
    }

    @Test
    void kubernetesOlderThan127IsRefused() {
        assertThatThrownBy(() -> helm.template(Render.of(CHART).kubeVersion("v1.26.5")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("chart requires kubeVersion: >=1.27.0-0");
    }

    static Stream<Named<Render>> longNames() {
        return Stream.of(
                Named.of("a 53-character release name, Helm's longest", Render.of(CHART).release("long-release-" + "x".repeat(40))),
                Named.of("a 63-character fullnameOverride", Render.of(CHART).set("fullnameOverride", "f".repeat(62) + "1")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("longNames")
    void longNamesStillGiveValidNames(Render render) throws IOException {
        Rendered r = render(render);
        for (HasMetadata o : r.objects()) {
            assertThat(o.getMetadata().getName()).as(o.getKind()).hasSizeLessThanOrEqualTo(63).doesNotEndWith("-");
            o.getMetadata().getLabels().values().forEach(v -> assertThat(v).hasSizeLessThanOrEqualTo(63));
        }
        // a StatefulSet's pods are labelled controller-revision-hash=NAME-<10 characters>
        assertThat(single(r.all(StatefulSet.class)).getMetadata().getName()).hasSizeLessThanOrEqualTo(52);
        String uri = decoded(r.all(Secret.class).stream().filter(s -> s.getData().containsKey("uri")).findFirst().orElseThrow()).get("uri");
        String service = single(r.all(Service.class).stream().filter(s -> s.getSpec().getClusterIP() == null).toList()).getMetadata().getName();
        assertThat(uri).as("the URI names the RabbitMQ Service").contains("@" + service + "." + RELEASE_NS + ".svc:5672");
    }

    @Test
    void notesTellTheUserHowToGiveABatchNamespaceTheBroker() throws IOException {
        String bundled = helm.installDryRun(Render.of(CHART));
        assertThat(bundled).contains("NOTES:")
                .contains("kubectl create secret generic taskbatch-broker -n BATCH_NS")
                .contains("kubectl -n tb-system get secret taskbatch-broker -o jsonpath='{.data.uri}' | base64 -d")
                .contains("helm test taskbatch -n tb-system")
                .contains("kubectl wait -n BATCH_NS --for=condition=Complete tb/squares");
        String existing = helm.installDryRun(valueSet("existing-broker.yaml"));
        assertThat(existing)
                .contains("kubectl create secret generic my-broker -n BATCH_NS --from-literal=uri='amqp://USER:PASSWORD@HOST:5672'")
                .doesNotContain("RabbitMQ taskbatch-rabbitmq");
        assertThat(helm.installDryRun(valueSet("namespaces-image.yaml"))).contains("This release created it in: team-a, team-b.")
                .contains("watches the namespaces team-a, team-b");
    }

    @Test
    void theChartsCrdIsTheCommittedOneByteForByte() throws IOException {
        Path committed = Path.of("k8s/crd");
        Path chartCrds = CHART.resolve("crds");
        assertThat(fileNames(chartCrds)).isEqualTo(fileNames(committed));
        for (String name : fileNames(committed)) {
            assertThat(Files.readAllBytes(chartCrds.resolve(name)))
                    .as("helm/taskbatch/crds/%s differs from k8s/crd/%s: cp k8s/crd/%s helm/taskbatch/crds/", name, name, name)
                    .isEqualTo(Files.readAllBytes(committed.resolve(name)));
        }
    }

    @Test
    void theChartReadmeDocumentsEveryValueAndTheCrdUpgrade() throws IOException {
        String readme = Files.readString(CHART.resolve("README.md"));
        JsonNode values = YAML.readTree(CHART.resolve("values.yaml").toFile());
        Set<String> rows = new TreeSet<>();
        Matcher row = Pattern.compile("(?m)^\\| `([^`]+)` \\|").matcher(readme);
        while (row.find()) rows.add(row.group(1));
        List<String> undocumented = new ArrayList<>();
        undocumented(values, "", rows, undocumented);
        assertThat(undocumented).as("values without a row of their own in the table of helm/taskbatch/README.md").isEmpty();
        for (String path : rows) {
            assertThat(path.equals("global") || !values.at("/" + path.replace('.', '/')).isMissingNode())
                    .as("README documents %s, which values.yaml does not have", path).isTrue();
        }
        assertThat(readme).contains("helm install", "helm upgrade", "helm uninstall", "helm test",
                "kubectl apply --server-side --force-conflicts -f crds/", "kubectl delete pvc");
        String upgrade = readme.substring(readme.indexOf("## Upgrad"));
        upgrade = upgrade.substring(0, upgrade.indexOf("\n## ", 3) < 0 ? upgrade.length() : upgrade.indexOf("\n## ", 3));
        assertThat(upgrade.indexOf("kubectl apply --server-side --force-conflicts -f crds/")).as("the upgrade section applies the CRD before helm upgrade")
                .isNotNegative().isLessThan(upgrade.indexOf("helm upgrade"));
    }

    // ---- helpers ----

    /** Where the hook annotation goes in the copy whose test pod helm-java prints. */
    static final String RENAMED_HOOK = "chart-test.taskbatch.io/helm.sh-hook";

    /** Copies the chart, turning hooks into plain manifests (their annotation renamed, kept as evidence). */
    static Path hooksAsManifests(Path chart, Path copy) throws IOException {
        try (Stream<Path> files = Files.walk(chart)) {
            for (Path file : files.toList()) {
                Path target = copy.resolve(chart.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(file, target);
                }
            }
        }
        Path test = copy.resolve("templates/tests/test-broker.yaml");
        String yaml = Files.readString(test);
        assertThat(yaml).contains("helm.sh/hook: test");
        Files.writeString(test, yaml.replace("helm.sh/hook: test", RENAMED_HOOK + ": test"));
        return copy;
    }

    /** The release's objects, hooks included (taken from the copy of the chart, as helm template would print them). */
    static Rendered render(Render render) throws IOException {
        List<HasMetadata> objects = new ArrayList<>(parse(helm.template(render), false));
        objects.addAll(parse(helm.template(render.chart(chartWithHooksAsManifests)), true));
        return new Rendered(objects);
    }

    /** The documents of a rendered manifest; only those of templates/tests/ when {@code hooksOnly}. */
    static List<HasMetadata> parse(String manifest, boolean hooksOnly) {
        List<HasMetadata> objects = new ArrayList<>();
        for (String doc : manifest.split("(?m)^---\\s*$")) {
            boolean meaningful = doc.lines().anyMatch(l -> !l.isBlank() && !l.stripLeading().startsWith("#"));
            if (!meaningful) continue;
            if (hooksOnly != doc.contains("# Source: taskbatch/templates/tests/")) continue;
            HasMetadata object = KUBE.unmarshal(doc, HasMetadata.class);
            assertThat(object).as("a Kubernetes object:\n%s", doc).isNotNull();
            assertThat(object.getKind()).as(doc).isNotBlank();
            objects.add(object);
        }
        return objects;
    }

    record Rendered(List<HasMetadata> objects) {
        <T extends HasMetadata> List<T> all(Class<T> type) {
            return objects.stream().filter(type::isInstance).map(type::cast).toList();
        }

        <T extends HasMetadata> T one(Class<T> type, String name) {
            return single(all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).toList());
        }

        <T extends HasMetadata> T one(Class<T> type, String name, String namespace) {
            return single(all(type).stream().filter(o -> o.getMetadata().getName().equals(name)
                    && namespace.equals(o.getMetadata().getNamespace())).toList());
        }

        /** Every pod template, by "Kind name". */
        Map<String, PodSpec> podSpecs() {
            Map<String, PodSpec> pods = new LinkedHashMap<>();
            for (HasMetadata o : objects) {
                PodSpec spec = switch (o) {
                    case Deployment d -> d.getSpec().getTemplate().getSpec();
                    case StatefulSet s -> s.getSpec().getTemplate().getSpec();
                    case Job j -> j.getSpec().getTemplate().getSpec();
                    case Pod p -> p.getSpec();
                    default -> null;
                };
                if (spec != null) pods.put(o.getKind() + " " + o.getMetadata().getName(), spec);
            }
            return pods;
        }
    }

    static <T> T single(List<T> list) {
        assertThat(list).hasSize(1);
        return list.getFirst();
    }

    static Map<String, String> env(Container c) {
        Map<String, String> env = new LinkedHashMap<>();
        c.getEnv().forEach(e -> env.put(e.getName(), e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null
                ? "fieldRef " + e.getValueFrom().getFieldRef().getFieldPath() : e.getValue()));
        return env;
    }

    static Map<String, String> decoded(Secret secret) {
        Map<String, String> out = new TreeMap<>();
        secret.getData().forEach((k, v) -> out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
        return out;
    }

    static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Values without a row in the README's table: a value is documented by a row of its own
     * ({@code | `path` |}); a map without one, by rows for each of its entries.
     */
    static void undocumented(JsonNode node, String path, Set<String> rows, List<String> out) {
        if (rows.contains(path)) return;
        if (node.isObject() && !node.isEmpty()) {
            node.properties().forEach(e -> undocumented(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(), rows, out));
        } else {
            out.add(path);
        }
    }

    /** Every schema node with properties must refuse others. */
    static void closedObjects(JsonNode node, String where, List<String> out) {
        if (node.isObject()) {
            if (node.has("properties") && !node.path("additionalProperties").isBoolean()) out.add(where.isEmpty() ? "/" : where);
            node.properties().forEach(e -> closedObjects(e.getValue(), where + "/" + e.getKey(), out));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) closedObjects(node.get(i), where + "/" + i, out);
        }
    }

    /** Properties of the schema (following $ref) that values.yaml lacks, down to its leaves and empty maps. */
    static void schemaOnlyValues(JsonNode root, JsonNode schema, JsonNode values, String path, List<String> out) {
        if (schema.has("$ref")) schema = root.at(schema.get("$ref").asText().substring(1));
        if (!values.isObject() || values.isEmpty() || !schema.has("properties")) return;
        for (var e : schema.get("properties").properties()) {
            String child = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
            if (!values.has(e.getKey())) out.add(child);
            else schemaOnlyValues(root, e.getValue(), values.get(e.getKey()), child, out);
        }
    }
}
