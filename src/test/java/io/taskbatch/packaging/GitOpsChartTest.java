package io.taskbatch.packaging;

import static io.taskbatch.packaging.HelmChartTest.CHART;
import static io.taskbatch.packaging.HelmChartTest.KUBE;
import static io.taskbatch.packaging.HelmChartTest.RELEASE_NS;
import static io.taskbatch.packaging.HelmChartTest.VALUES;
import static io.taskbatch.packaging.HelmChartTest.YAML;
import static io.taskbatch.packaging.HelmChartTest.decoded;
import static io.taskbatch.packaging.HelmChartTest.env;
import static io.taskbatch.packaging.HelmChartTest.single;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.operator.BatchPodTemplates;
import io.taskbatch.packaging.ChartRenderer.HelmFailure;
import io.taskbatch.packaging.ChartRenderer.Render;
import io.taskbatch.packaging.HelmChartTest.Rendered;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart under GitOps tools (Argo CD, Flux), which render it with {@code helm template}, where {@code lookup} finds
 * nothing: the bundled RabbitMQ's password given as a value or in a Secret of the user's renders the same bytes every
 * time and agrees with the broker URI the pods get; the NetworkPolicies select the pods the operator builds and open
 * only the ports they need; Chart.yaml says who maintains the chart.
 */
class GitOpsChartTest {
    static final String PASSWORD = "Gitops.Pass_w0rd~1";

    @TempDir
    static Path tmp;
    static ChartRenderer helm;
    static Path chartWithHooksAsManifests;

    @BeforeAll
    static void startHelm() throws IOException {
        helm = ChartRenderer.start(tmp);
        chartWithHooksAsManifests = HelmChartTest.hooksAsManifests(CHART, tmp.resolve("chart-with-hooks-as-manifests"));
    }

    @AfterAll
    static void stopHelm() throws IOException {
        if (helm != null) helm.close();
    }

    @BeforeEach
    void emptyCluster() {
        helm.clearSecrets();
    }

    static Render gitops() {
        return Render.of(CHART).values(VALUES.resolve("gitops.yaml"));
    }

    /** The release's objects, the helm test pod included. */
    static Rendered render(Render render) throws IOException {
        List<HasMetadata> objects = new ArrayList<>(HelmChartTest.parse(helm.template(render), false));
        objects.addAll(HelmChartTest.parse(helm.template(render.chart(chartWithHooksAsManifests)), true));
        return new Rendered(objects);
    }

    /** The documents of the rendered Secrets, as text: what a GitOps tool compares with the cluster. */
    static List<String> secretDocuments(String manifest) {
        return List.of(manifest.split("(?m)^---\\s*$")).stream().filter(d -> d.contains("\nkind: Secret\n")).toList();
    }

    // ---- the broker password ----

    @Test
    void withoutAPasswordEachHelmTemplateDrawsANewOne() throws IOException {
        // what GitOps tools suffer from by default, and why the values below exist
        String first = helm.template(Render.of(CHART));
        String second = helm.template(Render.of(CHART));
        assertThat(secretDocuments(first)).hasSize(2);
        assertThat(secretDocuments(first)).isNotEqualTo(secretDocuments(second));
    }

    @Test
    void aPasswordGivenAsAValueRendersTheSameSecretsEveryTime() throws IOException {
        Render render = Render.of(CHART).set("rabbitmq.auth.password", PASSWORD).set("broker.copyToNamespaces[0]", "team-a");
        String first = helm.template(render);
        String second = helm.template(render);
        assertThat(secretDocuments(first)).hasSize(3).isEqualTo(secretDocuments(second));
        assertThat(first).as("the whole output").isEqualTo(second);

        Rendered r = render(render);
        assertThat(decoded(r.one(Secret.class, "taskbatch-rabbitmq"))).containsEntry("password", PASSWORD).containsEntry("username", "taskbatch");
        String uri = "amqp://taskbatch:" + PASSWORD + "@taskbatch-rabbitmq.tb-system.svc:5672";
        assertThat(decoded(r.one(Secret.class, "taskbatch-broker", RELEASE_NS))).isEqualTo(Map.of("uri", uri));
        assertThat(decoded(r.one(Secret.class, "taskbatch-broker", "team-a"))).as("the copy batches read").isEqualTo(Map.of("uri", uri));
        assertThat(URI.create(uri).getUserInfo()).as("the password needs no escaping in the URI").isEqualTo("taskbatch:" + PASSWORD);
        Container rabbit = single(r.one(StatefulSet.class, "taskbatch-rabbitmq").getSpec().getTemplate().getSpec().getContainers());
        EnvVar pass = rabbit.getEnv().stream().filter(e -> e.getName().equals("RABBITMQ_DEFAULT_PASS")).findFirst().orElseThrow();
        assertThat(pass.getValueFrom().getSecretKeyRef().getName()).isEqualTo("taskbatch-rabbitmq");
        assertThat(pass.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("password");
    }

    @Test
    void aPasswordGivenAsAValueWinsOverTheOneInTheCluster() throws IOException {
        helm.putSecret(RELEASE_NS, "taskbatch-rabbitmq", Map.of("username", "taskbatch", "password", "fromTheCluster"));
        int before = helm.apiRequests().size();
        Rendered r = render(Render.of(CHART).set("rabbitmq.auth.password", PASSWORD));
        assertThat(decoded(r.one(Secret.class, "taskbatch-rabbitmq")).get("password")).isEqualTo(PASSWORD);
        List<String> requests = helm.apiRequests();
        assertThat(requests.subList(before, requests.size())).as("nothing to look up")
                .noneMatch(q -> q.endsWith("/secrets/taskbatch-rabbitmq"));
        // without the value, the same cluster's password is kept (and looked up)
        assertThat(decoded(render(Render.of(CHART)).one(Secret.class, "taskbatch-rabbitmq")).get("password")).isEqualTo("fromTheCluster");
    }

    @Test
    void aPasswordInAnExistingSecretRendersNoSecretAndPointsEveryoneAtIt() throws IOException {
        String first = helm.template(gitops());
        assertThat(first).isEqualTo(helm.template(gitops()));
        assertThat(secretDocuments(first)).as("the user's Secret holds the password and the URI").isEmpty();

        Rendered r = render(gitops());
        assertThat(r.all(Secret.class)).isEmpty();
        Container rabbit = single(r.one(StatefulSet.class, "taskbatch-rabbitmq").getSpec().getTemplate().getSpec().getContainers());
        assertThat(rabbit.getEnv()).extracting(EnvVar::getName).containsExactly("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS");
        assertThat(env(rabbit)).containsEntry("RABBITMQ_DEFAULT_USER", "taskbatch");
        assertThat(rabbit.getEnv().get(1).getValueFrom().getSecretKeyRef().getName()).isEqualTo("rabbitmq-auth");
        assertThat(rabbit.getEnv().get(1).getValueFrom().getSecretKeyRef().getKey()).isEqualTo("rabbitmq-password");
        Container operator = single(r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getSpec().getContainers());
        assertThat(env(operator)).as("batch pods read the URI from the user's Secret").containsEntry("TASKBATCH_OPERATOR_BROKER_SECRET", "rabbitmq-auth");
        EnvVar ping = single(r.one(Pod.class, "taskbatch-test-broker").getSpec().getContainers()).getEnv().getFirst();
        assertThat(ping.getValueFrom().getSecretKeyRef().getName()).isEqualTo("rabbitmq-auth");
        assertThat(ping.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("uri");
    }

    @Test
    void copiesOfAnExistingPasswordSecretAreReadFromTheCluster() throws IOException {
        Render render = gitops().set("broker.copyToNamespaces[0]", "team-a");
        assertThatThrownBy(() -> helm.template(render)).isInstanceOf(HelmFailure.class)
                .hasMessageContaining("Secret rabbitmq-auth with key uri not found in namespace tb-system");
        String uri = "amqp://taskbatch:fromVault@taskbatch-rabbitmq.tb-system.svc:5672";
        helm.putSecret(RELEASE_NS, "rabbitmq-auth", Map.of("rabbitmq-password", "fromVault", "uri", uri));
        Rendered r = render(render);
        assertThat(decoded(r.one(Secret.class, "rabbitmq-auth", "team-a"))).isEqualTo(Map.of("uri", uri));
        assertThat(r.all(Secret.class)).hasSize(1);
    }

    @Test
    void aPasswordAndAnExistingSecretTogetherAreRefused() {
        assertThatThrownBy(() -> helm.template(gitops().set("rabbitmq.auth.password", PASSWORD)))
                .isInstanceOf(HelmFailure.class)
                .hasMessageContaining("rabbitmq.auth.password and rabbitmq.auth.existingSecret both give the RabbitMQ password");
    }

    @Test
    void theSchemaChecksTheNewValues() {
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("rabbitmq.auth.password", "p@ss:word")))
                .as("it goes into the URI unescaped").isInstanceOf(HelmFailure.class).hasMessageContaining("/rabbitmq/auth/password");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("rabbitmq.auth.passwort", "x")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("additional properties 'passwort' not allowed");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("rabbitmq.auth.existingSecretPasswordKey", "")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/rabbitmq/auth/existingSecretPasswordKey");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.enabled", "yes")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("'/networkPolicy/enabled': got string, want boolean");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.enable", "true")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("additional properties 'enable' not allowed");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.apiServer.cidrs[0]", "10.0.0.10")))
                .as("a CIDR, not an address").isInstanceOf(HelmFailure.class).hasMessageContaining("/networkPolicy/apiServer/cidrs/0");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.apiServer.ports[0]", "70000")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/networkPolicy/apiServer/ports/0");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.dns[0].podSelektor.app", "dns")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("additional properties 'podSelektor' not allowed");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.batchNamespaces[0]", "Team_A")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/networkPolicy/batchNamespaces/0");
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.monitoring.podLabels", "prometheus")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("/networkPolicy/monitoring/podLabels");
    }

    // ---- NetworkPolicies ----

    @Test
    void noNetworkPolicyUnlessAskedFor() throws IOException {
        assertThat(render(Render.of(CHART)).all(NetworkPolicy.class)).isEmpty();
        assertThat(render(gitops().set("networkPolicy.enabled", "false")).all(NetworkPolicy.class)).isEmpty();
    }

    @Test
    void networkPoliciesNeedTheApiServersAddressAndAnExternalBrokersPeers() throws IOException {
        assertThatThrownBy(() -> helm.template(Render.of(CHART).set("networkPolicy.enabled", "true")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("networkPolicy.apiServer.cidrs is required");
        Render ownBroker = Render.of(CHART).values(VALUES.resolve("existing-broker.yaml")).set("networkPolicy.enabled", "true")
                .set("networkPolicy.apiServer.cidrs[0]", "10.0.0.10/32");
        assertThatThrownBy(() -> helm.template(ownBroker))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("networkPolicy.externalBroker is required");

        Rendered r = render(ownBroker.set("networkPolicy.externalBroker[0].ipBlock.cidr", "10.1.2.3/32"));
        assertThat(names(r)).containsExactlyInAnyOrder("tb-system/taskbatch-operator", "tb-system/taskbatch-master",
                "tb-system/taskbatch-worker");
        for (String component : List.of("master", "worker")) {
            NetworkPolicyEgressRule broker = r.one(NetworkPolicy.class, "taskbatch-" + component).getSpec().getEgress().getFirst();
            assertThat(broker.getTo()).singleElement().satisfies(p -> assertThat(p.getIpBlock().getCidr()).isEqualTo("10.1.2.3/32"));
            assertThat(ports(broker.getPorts())).containsExactly("TCP/5671", "TCP/5672");
        }
    }

    @Test
    void networkPoliciesGoToTheReleaseNamespaceAndEveryKnownBatchNamespace() throws IOException {
        Rendered r = render(gitops());
        assertThat(names(r)).containsExactlyInAnyOrder("tb-system/taskbatch-operator", "tb-system/taskbatch-rabbitmq",
                "tb-system/taskbatch-master", "tb-system/taskbatch-worker",
                "team-a/taskbatch-master", "team-a/taskbatch-worker", "team-b/taskbatch-master", "team-b/taskbatch-worker");
        for (NetworkPolicy policy : r.all(NetworkPolicy.class)) {
            assertThat(policy.getApiVersion()).isEqualTo("networking.k8s.io/v1");
        }
    }

    @Test
    void rabbitMqAcceptsAmqpFromBatchPodsTheOperatorAndTheTestPodAndMetricsFromMonitoringOnly() throws Exception {
        Rendered r = render(gitops());
        NetworkPolicy policy = r.one(NetworkPolicy.class, "taskbatch-rabbitmq");
        StatefulSet sts = r.one(StatefulSet.class, "taskbatch-rabbitmq");
        assertThat(selects(policy.getSpec().getPodSelector(), sts.getSpec().getTemplate().getMetadata().getLabels())).isTrue();
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress");
        List<NetworkPolicyIngressRule> rules = policy.getSpec().getIngress();
        assertThat(rules).hasSize(2);

        NetworkPolicyIngressRule amqp = rules.get(0);
        assertThat(ports(amqp.getPorts())).containsExactly("TCP/5672");
        TaskBatch batch = BatchPodTemplates.example("squares.yaml");
        Map<String, String> master = BatchPodTemplates.master(batch).getMetadata().getLabels();
        Map<String, String> worker = BatchPodTemplates.worker(batch).getMetadata().getLabels();
        Map<String, String> operator = r.one(Deployment.class, "taskbatch").getSpec().getTemplate().getMetadata().getLabels();
        Map<String, String> test = r.one(Pod.class, "taskbatch-test-broker").getMetadata().getLabels();
        Map<String, String> rabbit = sts.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(amqp.getFrom()).hasSize(2);
        NetworkPolicyPeer batches = amqp.getFrom().get(0);
        NetworkPolicyPeer release = amqp.getFrom().get(1);
        assertThat(selects(batches.getPodSelector(), master)).isTrue();
        assertThat(selects(batches.getPodSelector(), worker)).isTrue();
        assertThat(selects(batches.getPodSelector(), operator)).isFalse();
        assertThat(selects(batches.getNamespaceSelector(), namespace("team-a"))).as("watchNamespaces").isTrue();
        assertThat(selects(batches.getNamespaceSelector(), namespace("team-b"))).isFalse();
        assertThat(release.getNamespaceSelector()).as("the release namespace").isNull();
        assertThat(selects(release.getPodSelector(), operator)).as("queue cleanup").isTrue();
        assertThat(selects(release.getPodSelector(), test)).as("helm test").isTrue();
        assertThat(selects(release.getPodSelector(), rabbit)).isFalse();
        assertThat(selects(release.getPodSelector(), worker)).isFalse();

        NetworkPolicyIngressRule metrics = rules.get(1);
        assertThat(ports(metrics.getPorts())).containsExactly("TCP/15692");
        assertThat(single(sts.getSpec().getTemplate().getSpec().getContainers()).getPorts())
                .anySatisfy(p -> assertThat(p.getContainerPort()).isEqualTo(15692));
        assertMonitoringPeer(single(metrics.getFrom()));

        // watching every namespace: batch pods of any namespace
        NetworkPolicyPeer anywhere = render(gitops().set("watchNamespaces", "null")).one(NetworkPolicy.class, "taskbatch-rabbitmq")
                .getSpec().getIngress().getFirst().getFrom().getFirst();
        assertThat(anywhere.getNamespaceSelector()).isNotNull();
        assertThat(selects(anywhere.getNamespaceSelector(), namespace("anything"))).isTrue();
    }

    @Test
    void theOperatorAcceptsOnlyItsHttpPortFromMonitoring() throws IOException {
        Rendered r = render(gitops());
        NetworkPolicy policy = r.one(NetworkPolicy.class, "taskbatch-operator");
        Deployment deployment = r.one(Deployment.class, "taskbatch");
        assertThat(selects(policy.getSpec().getPodSelector(), deployment.getSpec().getTemplate().getMetadata().getLabels())).isTrue();
        assertThat(selects(policy.getSpec().getPodSelector(),
                r.one(StatefulSet.class, "taskbatch-rabbitmq").getSpec().getTemplate().getMetadata().getLabels())).isFalse();
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress");
        NetworkPolicyIngressRule rule = single(policy.getSpec().getIngress());
        assertThat(ports(rule.getPorts())).containsExactly("TCP/8080");
        assertThat(single(deployment.getSpec().getTemplate().getSpec().getContainers()).getPorts())
                .singleElement().satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(8080));
        assertMonitoringPeer(single(rule.getFrom()));
    }

    @Test
    void workersReachOnlyTheBrokerAndDnsAndMastersAlsoTheApiServer() throws Exception {
        Rendered r = render(gitops());
        TaskBatch batch = BatchPodTemplates.example("squares.yaml");
        Map<String, String> masterLabels = BatchPodTemplates.master(batch).getMetadata().getLabels();
        Map<String, String> workerLabels = BatchPodTemplates.worker(batch).getMetadata().getLabels();
        Map<String, String> rabbit = r.one(StatefulSet.class, "taskbatch-rabbitmq").getSpec().getTemplate().getMetadata().getLabels();
        for (String ns : List.of("tb-system", "team-a", "team-b")) {
            NetworkPolicy worker = r.one(NetworkPolicy.class, "taskbatch-worker", ns);
            NetworkPolicy master = r.one(NetworkPolicy.class, "taskbatch-master", ns);
            assertThat(selects(worker.getSpec().getPodSelector(), workerLabels)).isTrue();
            assertThat(selects(worker.getSpec().getPodSelector(), masterLabels)).isFalse();
            assertThat(selects(master.getSpec().getPodSelector(), masterLabels)).isTrue();
            assertThat(selects(master.getSpec().getPodSelector(), workerLabels)).isFalse();
            for (NetworkPolicy policy : List.of(worker, master)) {
                assertThat(policy.getSpec().getPolicyTypes()).as("their metrics port stays open to Prometheus").containsExactly("Egress");
                List<NetworkPolicyEgressRule> egress = policy.getSpec().getEgress();
                NetworkPolicyEgressRule broker = egress.get(0);
                assertThat(ports(broker.getPorts())).containsExactly("TCP/5672");
                NetworkPolicyPeer peer = single(broker.getTo());
                assertThat(selects(peer.getNamespaceSelector(), namespace(RELEASE_NS))).isTrue();
                assertThat(selects(peer.getNamespaceSelector(), namespace(ns.equals(RELEASE_NS) ? "team-a" : ns))).isFalse();
                assertThat(selects(peer.getPodSelector(), rabbit)).isTrue();
                assertThat(selects(peer.getPodSelector(), workerLabels)).isFalse();
                NetworkPolicyEgressRule dns = egress.get(1);
                assertThat(ports(dns.getPorts())).containsExactly("UDP/53", "TCP/53");
                NetworkPolicyPeer kubeDns = single(dns.getTo());
                assertThat(selects(kubeDns.getNamespaceSelector(), namespace("kube-system"))).isTrue();
                assertThat(selects(kubeDns.getPodSelector(), Map.of("k8s-app", "kube-dns"))).isTrue();
            }
            List<NetworkPolicyEgressRule> masterEgress = master.getSpec().getEgress();
            assertThat(masterEgress).hasSize(3);
            assertThat(masterEgress.get(2).getTo()).extracting(p -> p.getIpBlock().getCidr()).containsExactly("10.0.0.10/32", "10.0.0.11/32");
            assertThat(ports(masterEgress.get(2).getPorts())).containsExactly("TCP/6443");
            List<NetworkPolicyEgressRule> workerEgress = worker.getSpec().getEgress();
            assertThat(workerEgress).as("broker, DNS and networkPolicy.workerExtraEgress; no API server").hasSize(3);
            assertThat(single(workerEgress.get(2).getTo()).getIpBlock().getCidr()).isEqualTo("10.2.0.0/16");
            assertThat(ports(workerEgress.get(2).getPorts())).containsExactly("TCP/443");
        }
        assertThat(render(gitops().set("networkPolicy.workerExtraEgress", "null")).one(NetworkPolicy.class, "taskbatch-worker", "team-b")
                .getSpec().getEgress()).hasSize(2);
    }

    // ---- Chart.yaml ----

    @Test
    void chartYamlSaysWhoMaintainsTheChartAndNamesNoPlaceholder() throws IOException {
        JsonNode chart = YAML.readTree(CHART.resolve("Chart.yaml").toFile());
        assertThat(chart.path("maintainers").isArray()).isTrue();
        assertThat(single(MonitoringChartTest.list(chart.get("maintainers"))).path("name").asText()).isEqualTo("taskbatch developers");
        List<String> urls = new ArrayList<>();
        if (chart.has("home")) urls.add(chart.get("home").asText());
        chart.path("sources").forEach(s -> urls.add(s.asText()));
        for (String url : urls) {
            assertThat(url).startsWith("https://").doesNotContainIgnoringCase("example").doesNotContainIgnoringCase("todo")
                    .doesNotContainIgnoringCase("changeme").doesNotContain("<");
        }
        assertThat(chart.path("name").asText()).isEqualTo("taskbatch");
        assertThat(chart.path("description").asText()).contains("RabbitMQ");
    }

    // ---- helpers ----

    static List<String> names(Rendered r) {
        return r.all(NetworkPolicy.class).stream().map(p -> p.getMetadata().getNamespace() + "/" + p.getMetadata().getName()).toList();
    }

    static List<String> ports(List<NetworkPolicyPort> ports) {
        return ports.stream().map(p -> p.getProtocol() + "/" + p.getPort().getValue()).toList();
    }

    /** The labels Kubernetes gives every namespace. */
    static Map<String, String> namespace(String name) {
        return Map.of("kubernetes.io/metadata.name", name);
    }

    static boolean selects(LabelSelector selector, Map<String, String> labels) {
        assertThat(selector).as("a selector (null would select nothing here)").isNotNull();
        return MonitoringChartTest.selects(KUBE.convertValue(selector, JsonNode.class), labels);
    }

    /** gitops.yaml's monitoring: pods labelled as Prometheus in the namespace observability. */
    static void assertMonitoringPeer(NetworkPolicyPeer peer) {
        assertThat(selects(peer.getNamespaceSelector(), namespace("observability"))).isTrue();
        assertThat(selects(peer.getNamespaceSelector(), namespace("team-a"))).isFalse();
        assertThat(selects(peer.getPodSelector(), Map.of("app.kubernetes.io/name", "prometheus"))).isTrue();
        assertThat(selects(peer.getPodSelector(), Map.of("app.kubernetes.io/name", "grafana"))).isFalse();
    }
}
