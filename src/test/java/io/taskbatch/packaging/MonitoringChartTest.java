package io.taskbatch.packaging;

import static io.taskbatch.packaging.HelmChartTest.CHART;
import static io.taskbatch.packaging.HelmChartTest.KUBE;
import static io.taskbatch.packaging.HelmChartTest.VALUES;
import static io.taskbatch.packaging.HelmChartTest.single;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.operator.BatchLabels;
import io.taskbatch.operator.BatchPodTemplates;
import io.taskbatch.packaging.ChartRenderer.HelmFailure;
import io.taskbatch.packaging.ChartRenderer.Render;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's monitoring objects: a PodMonitor that selects exactly the pods the operator builds for a batch, on the
 * port they serve metrics on; a PodMonitor for the bundled RabbitMQ's Prometheus plugin; the Grafana dashboard
 * ConfigMap; the alerts. Each only when asked for. (MonitoringQueriesTest checks that their queries name real metrics.)
 */
class MonitoringChartTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static ChartRenderer helm;

    @BeforeAll
    static void startHelm() throws IOException {
        helm = ChartRenderer.start(tmp);
    }

    @AfterAll
    static void stopHelm() throws IOException {
        if (helm != null) helm.close();
    }

    static Render monitoring() {
        return Render.of(CHART).values(VALUES.resolve("monitoring.yaml"));
    }

    static List<HasMetadata> render(ChartRenderer helm, Render render) throws IOException {
        return HelmChartTest.parse(helm.template(render), false);
    }

    static GenericKubernetesResource custom(List<HasMetadata> objects, String kind, String name) {
        return single(objects.stream().filter(o -> o instanceof GenericKubernetesResource && o.getKind().equals(kind)
                && o.getMetadata().getName().equals(name)).map(GenericKubernetesResource.class::cast).toList());
    }

    static JsonNode spec(GenericKubernetesResource resource) {
        return KUBE.convertValue(resource.getAdditionalProperties().get("spec"), JsonNode.class);
    }

    static List<String> kinds(List<HasMetadata> objects) {
        return objects.stream().map(o -> o.getKind() + " " + o.getMetadata().getName()).toList();
    }

    @Test
    void monitoringObjectsAreRenderedOnlyWhenAskedFor() throws IOException {
        List<HasMetadata> off = render(helm, Render.of(CHART));
        assertThat(kinds(off)).noneMatch(k -> k.startsWith("PodMonitor") || k.startsWith("PrometheusRule")
                || k.startsWith("ServiceMonitor") || k.equals("ConfigMap taskbatch-dashboard"));
        assertThat(off).as("the plugin list is there either way (the exporter only answers when asked)")
                .anyMatch(o -> o.getMetadata().getName().equals("taskbatch-rabbitmq-config"));

        List<HasMetadata> on = render(helm, monitoring());
        assertThat(kinds(on)).contains("PodMonitor taskbatch-batches", "PodMonitor taskbatch-rabbitmq",
                "PrometheusRule taskbatch", "ConfigMap taskbatch-dashboard", "ServiceMonitor taskbatch");
        for (String kind : List.of("PodMonitor", "PrometheusRule")) {
            on.stream().filter(o -> o.getKind().equals(kind)).forEach(o -> {
                assertThat(o.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
                assertThat(o.getMetadata().getLabels()).as("the label the user's Prometheus selects").containsEntry("release", "prometheus");
            });
        }

        List<HasMetadata> ownBroker = render(helm, monitoring().values(VALUES.resolve("existing-broker.yaml")));
        assertThat(kinds(ownBroker)).as("no bundled RabbitMQ, nothing of it to scrape")
                .contains("PodMonitor taskbatch-batches").doesNotContain("PodMonitor taskbatch-rabbitmq");
    }

    @Test
    void thePodMonitorSelectsTheMasterAndWorkerPodsTheOperatorBuildsOnTheirMetricsPort() throws Exception {
        List<HasMetadata> objects = render(helm, monitoring());
        JsonNode spec = spec(custom(objects, "PodMonitor", "taskbatch-batches"));
        TaskBatch batch = BatchPodTemplates.example("squares.yaml");
        for (PodTemplateSpec pod : List.of(BatchPodTemplates.master(batch), BatchPodTemplates.worker(batch))) {
            Map<String, String> labels = pod.getMetadata().getLabels();
            assertThat(selects(spec.get("selector"), labels)).as("selects %s", labels).isTrue();
            Container container = single(pod.getSpec().getContainers());
            JsonNode endpoint = single(list(spec.get("podMetricsEndpoints")));
            assertThat(container.getPorts()).extracting(ContainerPort::getName).contains(endpoint.get("port").asText());
            assertThat(endpoint.get("path").asText()).isEqualTo("/q/metrics");
            assertThat(endpoint.get("interval").asText()).isEqualTo("15s");
            // the batch label comes from the pod label the operator sets (Prometheus' name for it)
            String podLabel = "__meta_kubernetes_pod_label_" + BatchLabels.BATCH.replaceAll("[^a-zA-Z0-9_]", "_");
            assertThat(list(endpoint.get("relabelings"))).anySatisfy(r -> {
                assertThat(r.get("sourceLabels").get(0).asText()).isEqualTo(podLabel);
                assertThat(r.get("targetLabel").asText()).isEqualTo("batch");
            });
            assertThat(labels).containsEntry(BatchLabels.BATCH, batch.getMetadata().getName());
            assertThat(endpoint.get("honorLabels").asBoolean()).as("the target's namespace wins; equal to the app's").isFalse();
            assertThat(list(endpoint.get("metricRelabelings"))).anySatisfy(r -> {
                assertThat(r.get("action").asText()).isEqualTo("labeldrop");
                assertThat("exported_namespace").matches(r.get("regex").asText());
                assertThat("exported_batch").matches(r.get("regex").asText());
            });
        }
        // nothing else of the release: not the operator, not RabbitMQ
        Deployment operator = (Deployment) objects.stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
        StatefulSet rabbit = (StatefulSet) objects.stream().filter(o -> o instanceof StatefulSet).findFirst().orElseThrow();
        assertThat(selects(spec.get("selector"), operator.getSpec().getTemplate().getMetadata().getLabels())).isFalse();
        assertThat(selects(spec.get("selector"), rabbit.getSpec().getTemplate().getMetadata().getLabels())).isFalse();

        assertThat(spec.at("/namespaceSelector/any").asBoolean()).as("the operator watches every namespace").isTrue();
        JsonNode watched = spec(custom(render(helm, monitoring().values(VALUES.resolve("namespaces-image.yaml"))),
                "PodMonitor", "taskbatch-batches"));
        assertThat(watched.at("/namespaceSelector/any").isMissingNode()).isTrue();
        assertThat(list(watched.at("/namespaceSelector/matchNames"))).extracting(JsonNode::asText).containsExactly("team-a", "team-b");
    }

    @Test
    void theOperatorsServiceMonitorKeepsTheBatchNamespaceOfItsSeries() throws IOException {
        JsonNode spec = spec(custom(render(helm, monitoring()), "ServiceMonitor", "taskbatch"));
        assertThat(spec.at("/endpoints/0/honorLabels").asBoolean()).isTrue();
    }

    @Test
    void thePodMonitorScrapesMoreOftenThanDonePodsLinger() throws Exception {
        long linger = BatchPodTemplates.defaultMetricsLinger().toSeconds();
        assertThat(linger).isEqualTo(20);
        String byDefault = HelmChartTest.YAML.readTree(CHART.resolve("values.yaml").toFile()).at("/metrics/podMonitor/interval").asText();
        assertThat(Long.parseLong(byDefault.replace("s", ""))).isLessThan(linger);
        Render on = Render.of(CHART).set("metrics.podMonitor.enabled", "true");
        helm.template(on.set("metrics.podMonitor.interval", (linger - 1) + "s"));
        assertThatThrownBy(() -> helm.template(on.set("metrics.podMonitor.interval", linger + "s")))
                .isInstanceOf(HelmFailure.class).hasMessageContaining("TASKBATCH_OPERATOR_METRICS_LINGER");
        assertThatThrownBy(() -> helm.template(on.set("metrics.podMonitor.interval", "1m")))
                .as("seconds only, so the chart can compare").isInstanceOf(HelmFailure.class).hasMessageContaining("/metrics/podMonitor/interval");
        // a longer linger, set through extraEnv, allows a longer interval
        helm.template(on.set("metrics.podMonitor.interval", "25s").set("extraEnv[0].name", "TASKBATCH_OPERATOR_METRICS_LINGER")
                .set("extraEnv[0].value", "28s"));
    }

    @Test
    void theBundledRabbitMqRunsThePrometheusPluginOnANamedPort() throws IOException {
        List<HasMetadata> objects = render(helm, monitoring());
        StatefulSet sts = (StatefulSet) objects.stream().filter(o -> o instanceof StatefulSet).findFirst().orElseThrow();
        Container rabbit = single(sts.getSpec().getTemplate().getSpec().getContainers());
        assertThat(rabbit.getPorts()).anySatisfy(p -> {
            assertThat(p.getName()).isEqualTo("prometheus");
            assertThat(p.getContainerPort()).isEqualTo(15692);
        });
        ConfigMap plugins = (ConfigMap) objects.stream().filter(o -> o instanceof ConfigMap
                && o.getMetadata().getName().equals("taskbatch-rabbitmq-config")).findFirst().orElseThrow();
        assertThat(plugins.getData().get("enabled_plugins").strip()).isEqualTo("[rabbitmq_prometheus].");
        assertThat(rabbit.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/etc/rabbitmq/enabled_plugins");
            assertThat(m.getSubPath()).isEqualTo("enabled_plugins");
            String volume = m.getName();
            assertThat(sts.getSpec().getTemplate().getSpec().getVolumes()).anySatisfy(v -> {
                assertThat(v.getName()).isEqualTo(volume);
                assertThat(v.getConfigMap().getName()).isEqualTo("taskbatch-rabbitmq-config");
            });
        });
        JsonNode spec = spec(custom(objects, "PodMonitor", "taskbatch-rabbitmq"));
        assertThat(spec.at("/podMetricsEndpoints/0/port").asText()).isEqualTo("prometheus");
        assertThat(spec.at("/podMetricsEndpoints/0/path").asText()).isEqualTo("/metrics/per-object");
        assertThat(selects(spec.get("selector"), sts.getSpec().getTemplate().getMetadata().getLabels())).isTrue();
        JsonNode aggregated = spec(custom(render(helm, monitoring().set("metrics.rabbitmq.perObject", "false")), "PodMonitor", "taskbatch-rabbitmq"));
        assertThat(aggregated.at("/podMetricsEndpoints/0/path").asText()).isEqualTo("/metrics");
    }

    @Test
    void theDashboardIsAConfigMapForGrafanasSidecar() throws IOException {
        ConfigMap dashboard = (ConfigMap) single(render(helm, monitoring()).stream()
                .filter(o -> o.getMetadata().getName().equals("taskbatch-dashboard")).toList());
        assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        assertThat(dashboard.getMetadata().getAnnotations()).containsEntry("grafana_folder", "Batch");
        assertThat(dashboard.getMetadata().getNamespace()).isEqualTo(HelmChartTest.RELEASE_NS);
        JsonNode json = JSON.readTree(dashboard.getData().get("taskbatch.json"));
        assertThat(json).isEqualTo(JSON.readTree(CHART.resolve("dashboards/taskbatch.json").toFile()));
        assertThat(list(json.at("/templating/list"))).extracting(v -> v.get("name").asText()).contains("namespace", "batch");
        assertThat(list(json.get("panels"))).extracting(p -> p.get("title").asText()).contains("Progress", "Task rate by outcome",
                "Failures and retries", "Dead tasks", "Task duration by executor", "Busy slots vs slots", "Buffered and prefetch",
                "Queue depths", "In flight", "Duplicates", "Batches by phase", "Reconcile errors",
                "Broker: messages in the batch's queues");

        ConfigMap elsewhere = (ConfigMap) single(render(helm, Render.of(CHART).set("metrics.dashboard.enabled", "true")
                .set("metrics.dashboard.namespace", "monitoring").set("metrics.dashboard.labels.grafana_dashboard", "null")
                .set("metrics.dashboard.labels.dashboards", "taskbatch")).stream()
                .filter(o -> o.getMetadata().getName().equals("taskbatch-dashboard")).toList());
        assertThat(elsewhere.getMetadata().getNamespace()).isEqualTo("monitoring");
        assertThat(elsewhere.getMetadata().getLabels()).containsEntry("dashboards", "taskbatch").doesNotContainKey("grafana_dashboard");
    }

    @Test
    void everyAlertSaysWhichBatchAndWhatToDoWithThresholdsFromValues() throws IOException {
        JsonNode spec = spec(custom(render(helm, monitoring()), "PrometheusRule", "taskbatch"));
        List<JsonNode> rules = list(spec.at("/groups/0/rules"));
        assertThat(rules).extracting(r -> r.get("alert").asText()).containsExactly("TaskBatchNoProgress", "TaskBatchFailing",
                "TaskBatchDeadTasks", "TaskBatchWorkerCrashLooping", "TaskBatchReconcileErrors");
        for (JsonNode rule : rules) {
            String what = rule.get("alert").asText();
            for (String annotation : List.of("summary", "description")) {
                assertThat(rule.at("/annotations/" + annotation).asText()).as(what + " " + annotation)
                        .contains("{{ $labels.namespace }}", "{{ $labels.batch }}");
            }
            assertThat(rule.at("/annotations/description").asText()).as(what + ": what to do").containsPattern("kubectl (get|describe|logs)");
            assertThat(rule.at("/labels/severity").asText()).isEqualTo("warning");
            assertThat(rule.get("expr").asText()).as(what + ": by batch").contains("namespace").contains("batch");
        }
        assertThat(rules.get(1).get("expr").asText()).contains("> 0.25");
        assertThat(rules.get(3).get("expr").asText()).contains("> 7").contains("kube_pod_container_status_restarts_total");
        assertThat(rules.get(0).get("expr").asText()).contains("[15m]").contains("offset 15m");
    }

    // ---- helpers ----

    static List<JsonNode> list(JsonNode array) {
        assertThat(array).isNotNull();
        return StreamSupport.stream(array.spliterator(), false).toList();
    }

    /** Whether a Kubernetes label selector (matchLabels, matchExpressions) selects {@code labels}. */
    static boolean selects(JsonNode selector, Map<String, String> labels) {
        for (var e : selector.path("matchLabels").properties()) {
            if (!e.getValue().asText().equals(labels.get(e.getKey()))) return false;
        }
        for (JsonNode expression : selector.path("matchExpressions")) {
            String value = labels.get(expression.get("key").asText());
            List<String> values = new ArrayList<>();
            expression.path("values").forEach(v -> values.add(v.asText()));
            boolean ok = switch (expression.get("operator").asText()) {
                case "In" -> value != null && values.contains(value);
                case "NotIn" -> value == null || !values.contains(value);
                case "Exists" -> value != null;
                case "DoesNotExist" -> value == null;
                default -> throw new AssertionError("unknown selector operator " + expression);
            };
            if (!ok) return false;
        }
        return true;
    }

}
