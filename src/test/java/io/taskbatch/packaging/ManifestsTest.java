package io.taskbatch.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.taskbatch.plan.PodTemplateRules;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every manifest under k8s/ is a Kubernetes object the API server would take, every pod in them
 * may run under the restricted Pod Security Standard without a credential written into it, and the
 * operator's Deployment and RBAC keep the packaging contract (the Helm chart keeps the same one).
 */
class ManifestsTest {
    static final Path K8S = Path.of("k8s");
    static final String IMAGE = "ghcr.io/taskbatch/taskbatch:0.1.0";
    static final String SYSTEM = "taskbatch-system";
    static final String OPERATOR = "taskbatch-operator";
    /** Files under k8s/ that are not manifests: docs, scripts, and what the examples' derived image is built from. */
    static final Pattern NOT_MANIFESTS = Pattern.compile("README\\.md|Dockerfile|.+\\.py|.+\\.sh");
    /** apiVersions of tool configurations kept beside the manifests: read by the tool, never applied to a cluster. */
    static final Set<String> TOOL_CONFIGS = Set.of("kind.x-k8s.io/v1alpha4"); // kind's cluster (k8s/kind/cluster.yaml)
    static final Pattern MANIFESTS = Pattern.compile(".+\\.ya?ml");

    private static final YAMLMapper YAML = new YAMLMapper();
    private static final KubernetesSerialization KUBE = new KubernetesSerialization();

    /** One YAML document of one file, as the Kubernetes model reads it; object is null for a tool configuration. */
    record Doc(Path file, int index, String apiVersion, HasMetadata object) {
        @Override
        public String toString() {
            return file + "#" + index + (object == null ? " " + apiVersion
                    : " " + object.getKind() + "/" + (object.getMetadata() == null ? null : object.getMetadata().getName()));
        }
    }

    static List<Path> files() throws IOException {
        try (Stream<Path> walk = Files.walk(K8S)) {
            return walk.filter(Files::isRegularFile).sorted().toList();
        }
    }

    static List<Path> manifestFiles() throws IOException {
        return files().stream().filter(f -> MANIFESTS.matcher(f.getFileName().toString()).matches()).toList();
    }

    static List<Doc> documents(Path file) throws IOException {
        List<Doc> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            for (JsonNode node : it.readAll()) {
                if (node == null || node.isNull() || node.isMissingNode()) continue; // an empty document: kubectl ignores it too
                assertThat(node.isObject()).as(file + " document " + docs.size() + " is a mapping").isTrue();
                String apiVersion = node.path("apiVersion").asText();
                docs.add(new Doc(file, docs.size(), apiVersion, TOOL_CONFIGS.contains(apiVersion) ? null : KUBE.unmarshal(node.toString())));
            }
        }
        return docs;
    }

    static List<Doc> all() throws IOException {
        List<Doc> docs = new ArrayList<>();
        for (Path file : manifestFiles()) documents(file).stream().filter(d -> d.object() != null).forEach(docs::add);
        return docs;
    }

    static <T extends HasMetadata> T only(Class<T> type, String name) throws IOException {
        List<T> found = all().stream().map(Doc::object).filter(type::isInstance).map(type::cast)
                .filter(o -> o.getMetadata().getName().equals(name)).toList();
        assertThat(found).as(type.getSimpleName() + " " + name + " under k8s/").hasSize(1);
        return found.get(0);
    }

    /** The pod spec of anything that makes pods, else empty. */
    static Optional<PodSpec> podSpec(HasMetadata object) {
        return Optional.ofNullable(switch (object) {
            case Deployment d -> d.getSpec().getTemplate().getSpec();
            case StatefulSet s -> s.getSpec().getTemplate().getSpec();
            case DaemonSet d -> d.getSpec().getTemplate().getSpec();
            case ReplicaSet r -> r.getSpec().getTemplate().getSpec();
            case Job j -> j.getSpec().getTemplate().getSpec();
            case CronJob c -> c.getSpec().getJobTemplate().getSpec().getTemplate().getSpec();
            case Pod p -> p.getSpec();
            default -> null;
        });
    }

    static Stream<Arguments> podTemplates() throws IOException {
        return all().stream().flatMap(doc -> podSpec(doc.object()).map(spec -> Arguments.of(doc.toString(), spec)).stream());
    }

    @Test
    void everyFileUnderK8sIsAManifestOrNamedAsNone() throws IOException {
        assertThat(files()).as("files under k8s/")
                .allSatisfy(f -> assertThat(f.getFileName().toString()).as(f.toString())
                        .matches(name -> MANIFESTS.matcher(name).matches() || NOT_MANIFESTS.matcher(name).matches(),
                                "*.yaml, *.yml, or a known non-manifest (" + NOT_MANIFESTS + ")"));
        assertThat(manifestFiles()).as("manifests").hasSizeGreaterThan(10);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("manifestFiles")
    void everyDocumentIsAKubernetesObject(Path file) throws IOException {
        List<Doc> docs = documents(file);
        assertThat(docs).as(file + " holds a document").isNotEmpty();
        for (Doc doc : docs) {
            HasMetadata o = doc.object();
            if (o == null) continue; // a tool configuration (TOOL_CONFIGS), named there
            assertThat(o.getApiVersion()).as(doc + " apiVersion").isNotBlank();
            assertThat(o.getKind()).as(doc + " kind").isNotBlank();
            assertThat(o.getMetadata()).as(doc + " metadata").isNotNull();
            assertThat(o.getMetadata().getName()).as(doc + " metadata.name").isNotBlank();
            if (o instanceof GenericKubernetesResource) {
                // a kind the model does not know: ours, or a misspelled kind or apiVersion
                assertThat(o.getApiVersion() + " " + o.getKind()).as(doc + ": a kind of the Kubernetes model")
                        .isIn("taskbatch.io/v1alpha1 TaskBatch", "apiextensions.k8s.io/v1 CustomResourceDefinition");
            } else {
                List<String> unknown = new ArrayList<>();
                PodTemplateRules.unknownFields(o, "", unknown);
                assertThat(unknown).as(doc + ": fields the API server does not know (kubectl apply rejects them)").isEmpty();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("podTemplates")
    void everyPodMayRunInARestrictedNamespace(String doc, PodSpec pod) {
        assertThat(PodSecurity.restrictedViolations(pod)).as(doc).isEmpty();
        assertThat(PodSecurity.plainCredentials(pod)).as(doc).isEmpty();
    }

    @Test
    void thePodTemplatesAreFound() throws IOException {
        assertThat(podTemplates().map(a -> (String) a.get()[0]))
                .anyMatch(doc -> doc.endsWith("Deployment/" + OPERATOR)).anyMatch(doc -> doc.endsWith("StatefulSet/rabbitmq"));
    }

    @Test
    void theChecksCatchWhatTheyAreFor() {
        PodSpec bad = KUBE.convertValue(yaml("""
                {hostNetwork: true, volumes: [{name: h, hostPath: {path: /}}],
                 containers: [{name: c, securityContext: {privileged: true, capabilities: {add: [SYS_ADMIN]}},
                   env: [{name: DB_PASSWORD, value: hunter2}, {name: URL, value: "amqp://u:p@h"}], args: ["--broker", "amqp://u:p@h"]}]}
                """), PodSpec.class);
        assertThat(String.join("\n", PodSecurity.restrictedViolations(bad))).contains("hostNetwork", "hostPath", "privileged",
                "allowPrivilegeEscalation", "drop ALL", "SYS_ADMIN", "runAsNonRoot", "seccompProfile");
        assertThat(PodSecurity.plainCredentials(bad)).hasSize(3);
    }

    /**
     * {@code kubectl apply -f k8s/operator/ -f k8s/rabbitmq/} takes a directory's files in name order: each object's
     * namespace, and each pod template's ServiceAccount, must come before it (else FailedCreate until a retry).
     */
    @Test
    void theOperatorAndTheDevBrokerApplyInOneCommandInOrder() throws IOException {
        Set<String> namespaces = new java.util.HashSet<>(Set.of("default"));
        Set<String> accounts = new java.util.HashSet<>();
        List<Path> files = new ArrayList<>();
        for (String dir : List.of("operator", "rabbitmq")) {
            try (Stream<Path> list = Files.list(K8S.resolve(dir))) {
                list.filter(f -> MANIFESTS.matcher(f.getFileName().toString()).matches()).sorted().forEach(files::add);
            }
        }
        for (Path file : files) {
            for (Doc doc : documents(file)) {
                HasMetadata o = doc.object();
                String ns = o.getMetadata().getNamespace();
                if (o instanceof io.fabric8.kubernetes.api.model.Namespace) namespaces.add(o.getMetadata().getName());
                if (ns != null) assertThat(namespaces).as(doc + ": its namespace comes first").contains(ns);
                if (o instanceof io.fabric8.kubernetes.api.model.ServiceAccount) accounts.add(ns + "/" + o.getMetadata().getName());
                podSpec(o).map(PodSpec::getServiceAccountName).ifPresent(sa ->
                        assertThat(accounts).as(doc + ": its ServiceAccount comes first").contains(ns + "/" + sa));
            }
        }
    }

    /**
     * Which verbs the operator holds is proven elsewhere: OperatorFlowIT runs the operator under this ClusterRole on an
     * API server that enforces RBAC and fails if a verb is missing or was never needed. Here: each rule says why it
     * is there, and none is limited to names or grants non-resource URLs.
     */
    @Test
    void eachRuleOfTheOperatorClusterRoleSaysWhy() throws IOException {
        ClusterRole role = only(ClusterRole.class, OPERATOR);
        assertThat(role.getRules()).as("no resourceNames or nonResourceURLs")
                .allSatisfy(r -> assertThat(r.getResourceNames()).isNullOrEmpty())
                .allSatisfy(r -> assertThat(r.getNonResourceURLs()).isNullOrEmpty());
        assertEachRuleCommented(Files.readAllLines(K8S.resolve("operator/10-rbac.yaml")), "k8s/operator/10-rbac.yaml");
    }

    /** In a ClusterRole's rules, each {@code - apiGroups:} line comes right after a comment. */
    static void assertEachRuleCommented(List<String> lines, String file) {
        int rules = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().startsWith("- apiGroups:")) continue;
            rules++;
            assertThat(i > 0 && lines.get(i - 1).strip().startsWith("#")).as(file + " line " + (i + 1) + ": a comment says why")
                    .isTrue();
        }
        assertThat(rules).as(file + " has rules").isPositive();
    }

    /** Each (API group, resource, verb) a list of rules grants, once per rule that grants it. */
    static List<String> grants(List<PolicyRule> rules) {
        List<String> out = new ArrayList<>();
        for (PolicyRule rule : rules) {
            for (String group : rule.getApiGroups())
                for (String resource : rule.getResources())
                    for (String verb : rule.getVerbs()) out.add(grant(group, resource, verb));
        }
        return out;
    }

    static String grant(String group, String resource, String verb) {
        return (group.isEmpty() ? "core" : group) + " " + resource + " " + verb;
    }

    @Test
    void theClusterRoleIsBoundToTheOperatorsServiceAccount() throws IOException {
        ServiceAccount account = only(ServiceAccount.class, OPERATOR);
        assertThat(account.getMetadata().getNamespace()).isEqualTo(SYSTEM);
        ClusterRoleBinding binding = only(ClusterRoleBinding.class, OPERATOR);
        assertThat(binding.getRoleRef().getKind()).isEqualTo("ClusterRole");
        assertThat(binding.getRoleRef().getName()).isEqualTo(OPERATOR);
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(OPERATOR);
            assertThat(s.getNamespace()).isEqualTo(SYSTEM);
        });
    }

    /** The Lease Role (its verbs proven by OperatorFlowIT) is bound to the operator, in the operator's namespace. */
    @Test
    void theLeaseRoleIsBoundToTheOperatorsServiceAccountInItsNamespace() throws IOException {
        Role role = only(Role.class, OPERATOR);
        assertThat(role.getMetadata().getNamespace()).isEqualTo(SYSTEM);
        assertThat(role.getRules()).allSatisfy(r -> assertThat(r.getResources()).containsExactly("leases"));
        RoleBinding binding = only(RoleBinding.class, OPERATOR);
        assertThat(binding.getMetadata().getNamespace()).isEqualTo(SYSTEM);
        assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(binding.getRoleRef().getName()).isEqualTo(OPERATOR);
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(OPERATOR);
            assertThat(s.getNamespace()).isEqualTo(SYSTEM);
        });
    }

    /** A node drain leaves one operator replica up. */
    @Test
    void aPodDisruptionBudgetKeepsOneOperatorUp() throws IOException {
        PodDisruptionBudget pdb = only(PodDisruptionBudget.class, OPERATOR);
        Deployment deployment = only(Deployment.class, OPERATOR);
        assertThat(pdb.getMetadata().getNamespace()).isEqualTo(SYSTEM);
        assertThat(pdb.getSpec().getMinAvailable()).isEqualTo(new IntOrString(1));
        assertThat(pdb.getSpec().getSelector()).isEqualTo(deployment.getSpec().getSelector());
        assertThat(deployment.getSpec().getReplicas()).as("more replicas than the budget keeps").isGreaterThan(1);
    }

    @Test
    void theOperatorDeploymentKeepsTheContract() throws IOException {
        Deployment deployment = only(Deployment.class, OPERATOR);
        Map<String, String> labels = Map.of("app.kubernetes.io/name", "taskbatch", "app.kubernetes.io/component", "operator");
        assertThat(deployment.getMetadata().getNamespace()).isEqualTo(SYSTEM);
        assertThat(deployment.getMetadata().getLabels()).containsAllEntriesOf(labels);
        assertThat(deployment.getSpec().getReplicas()).as("two replicas, one leader").isEqualTo(2);
        assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
        assertThat(deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable()).isEqualTo(new IntOrString(0));
        assertThat(deployment.getSpec().getStrategy().getRollingUpdate().getMaxSurge()).isEqualTo(new IntOrString(1));
        assertThat(deployment.getSpec().getSelector().getMatchLabels()).isEqualTo(labels);
        assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(labels);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo(OPERATOR);
        assertThat(pod.getAutomountServiceAccountToken()).as("the operator needs its API token").isTrue();
        assertThat(pod.getSecurityContext()).satisfies(sc -> {
            assertThat(sc.getRunAsNonRoot()).isTrue();
            assertThat(List.of(sc.getRunAsUser(), sc.getRunAsGroup(), sc.getFsGroup())).containsOnly(10001L);
            assertThat(sc.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        });
        assertThat(pod.getContainers()).hasSize(1);
        Container c = pod.getContainers().get(0);
        assertThat(c.getImage()).isEqualTo(IMAGE);
        assertThat(c.getArgs()).containsExactly("operator");
        assertThat(c.getEnv()).extracting(EnvVar::getName, EnvVar::getValue).contains(
                tuple("TASKBATCH_HTTP_PORT", "8080"),
                tuple("TASKBATCH_OPERATOR_IMAGE", IMAGE),
                tuple("TASKBATCH_OPERATOR_BROKER_SECRET", "taskbatch-broker"));
        // leader election: the Lease in the pod's namespace, held under the pod's name
        assertThat(c.getEnv()).filteredOn(e -> e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null)
                .extracting(EnvVar::getName, e -> e.getValueFrom().getFieldRef().getFieldPath())
                .containsExactlyInAnyOrder(tuple("POD_NAMESPACE", "metadata.namespace"), tuple("POD_NAME", "metadata.name"));
        assertThat(c.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getContainerPort()).isEqualTo(8080);
        });
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
        assertThat(c.getLivenessProbe().getHttpGet().getPort()).isEqualTo(new IntOrString("http"));
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
        assertThat(c.getReadinessProbe().getHttpGet().getPort()).isEqualTo(new IntOrString("http"));
        assertThat(c.getResources().getRequests()).isEqualTo(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("256Mi")));
        assertThat(c.getResources().getLimits()).isEqualTo(Map.of("memory", new Quantity("512Mi")));
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getVolumeMounts()).singleElement().satisfies(m -> {
            assertThat(m.getMountPath()).isEqualTo("/tmp");
            assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals(m.getName()))
                    .singleElement().satisfies(v -> assertThat(v.getEmptyDir()).isNotNull());
        });
    }

    @Test
    void namespacedObjectsSayWhereTheyGoAndTheSystemNamespaceIsRestricted() throws IOException {
        assertThat(only(Namespace.class, SYSTEM).getMetadata().getLabels())
                .containsEntry("pod-security.kubernetes.io/enforce", "restricted");
        // without a namespace, kubectl apply would put them wherever the current context points
        assertThat(all()).filteredOn(d -> !d.file().startsWith(K8S.resolve("examples")))
                .filteredOn(d -> d.object() instanceof Namespaced)
                .allSatisfy(d -> assertThat(d.object().getMetadata().getNamespace()).as(d.toString()).isNotBlank());
    }

    @Test
    void everySecretKeyRefNamesASecretKeyDefinedHere() throws IOException {
        List<Doc> docs = all();
        for (Doc doc : docs) {
            for (Container c : podSpec(doc.object()).map(PodSpec::getContainers).orElse(List.of())) {
                for (EnvVar env : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()) {
                    if (env.getValueFrom() == null || env.getValueFrom().getSecretKeyRef() == null) continue;
                    var ref = env.getValueFrom().getSecretKeyRef();
                    Secret secret = secret(docs, doc.object().getMetadata().getNamespace(), ref.getName());
                    assertThat(secretData(secret)).as(doc + " env " + env.getName()).containsKey(ref.getKey());
                }
            }
        }
    }

    /** An example's pod template reads Secrets and ConfigMaps the same file creates, with the keys it names. */
    @Test
    void everySecretOfAnExamplesPodTemplateIsInTheSameFile() throws IOException {
        int refs = 0;
        for (Path file : manifestFiles().stream().filter(f -> f.startsWith(K8S.resolve("examples"))).toList()) {
            List<Doc> docs = documents(file);
            for (Doc doc : docs) {
                if (!(doc.object() instanceof GenericKubernetesResource batch) || !"TaskBatch".equals(batch.getKind())) continue;
                JsonNode template = KUBE.convertValue(batch.getAdditionalProperties().get("spec"), JsonNode.class)
                        .at("/workers/template/spec");
                if (template.isMissingNode()) continue;
                PodSpec pod = KUBE.convertValue(template, PodSpec.class);
                for (Container c : pod.getContainers()) {
                    for (EnvVar env : c.getEnv()) {
                        if (env.getValueFrom() == null || env.getValueFrom().getSecretKeyRef() == null) continue;
                        var ref = env.getValueFrom().getSecretKeyRef();
                        List<Secret> found = docs.stream().map(Doc::object).filter(Secret.class::isInstance).map(Secret.class::cast)
                                .filter(s -> s.getMetadata().getName().equals(ref.getName())).toList();
                        assertThat(found).as(doc + " env " + env.getName() + ": Secret " + ref.getName() + " in the file").hasSize(1);
                        assertThat(secretData(found.get(0))).as(doc + " env " + env.getName()).containsKey(ref.getKey());
                        refs++;
                    }
                }
            }
        }
        assertThat(refs).as("secret-env-volume.yaml reads one").isPositive();
    }

    @Test
    void theBrokerSecretReachesTheDevBrokerWithItsUser() throws IOException {
        List<Doc> docs = all();
        Map<String, String> user = secretData(secret(docs, SYSTEM, "rabbitmq-default-user"));
        URI uri = URI.create(secretData(secret(docs, "default", "taskbatch-broker")).get("uri"));
        Service service = only(Service.class, "rabbitmq");
        assertThat(uri.getScheme()).isEqualTo("amqp");
        assertThat(uri.getUserInfo()).isEqualTo(user.get("username") + ":" + user.get("password"));
        assertThat(uri.getHost()).isEqualTo(service.getMetadata().getName() + "." + service.getMetadata().getNamespace() + ".svc");
        assertThat(service.getSpec().getPorts()).anySatisfy(p -> {
            assertThat(p.getName()).isEqualTo("amqp");
            assertThat(p.getPort()).isEqualTo(uri.getPort());
        });
        assertThat(uri.getPath()).as("no path: the default virtual host /").isEmpty();
        StatefulSet rabbit = only(StatefulSet.class, "rabbitmq");
        assertThat(rabbit.getSpec().getServiceName()).isEqualTo(service.getMetadata().getName());
        assertThat(service.getSpec().getSelector()).isEqualTo(rabbit.getSpec().getSelector().getMatchLabels());
        assertThat(rabbit.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsUser()).isEqualTo(999L);
        assertThat(rabbit.getSpec().getVolumeClaimTemplates()).singleElement().satisfies(claim ->
                assertThat(claim.getSpec().getResources().getRequests()).containsEntry("storage", new Quantity("1Gi")));
        Container broker = rabbit.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(Stream.of(broker.getStartupProbe(), broker.getLivenessProbe(), broker.getReadinessProbe()))
                .allSatisfy(p -> assertThat(p.getExec().getCommand()).containsExactly("rabbitmq-diagnostics", "-q", "ping"));
    }

    static JsonNode yaml(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Secret secret(List<Doc> docs, String namespace, String name) {
        List<Secret> found = docs.stream().map(Doc::object).filter(Secret.class::isInstance).map(Secret.class::cast)
                .filter(s -> s.getMetadata().getName().equals(name) && namespace.equals(s.getMetadata().getNamespace())).toList();
        assertThat(found).as("Secret " + namespace + "/" + name + " under k8s/").hasSize(1);
        return found.get(0);
    }

    /** A Secret's values, from stringData and (decoded) data. */
    static Map<String, String> secretData(Secret secret) {
        Map<String, String> data = new java.util.HashMap<>();
        if (secret.getData() != null) secret.getData().forEach((k, v) -> data.put(k, new String(Base64.getDecoder().decode(v))));
        if (secret.getStringData() != null) data.putAll(secret.getStringData());
        return data;
    }
}
