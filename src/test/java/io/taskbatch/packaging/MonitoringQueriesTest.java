package io.taskbatch.packaging;

import static io.taskbatch.packaging.HelmChartTest.CHART;
import static io.taskbatch.packaging.MonitoringChartTest.custom;
import static io.taskbatch.packaging.MonitoringChartTest.list;
import static io.taskbatch.packaging.MonitoringChartTest.spec;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.taskbatch.master.Progress;
import io.taskbatch.metrics.MasterMetrics;
import io.taskbatch.metrics.MetricNames;
import io.taskbatch.metrics.OperatorMetrics;
import io.taskbatch.metrics.WorkerMetrics;
import io.taskbatch.packaging.ChartRenderer.Render;
import io.taskbatch.testing.RabbitNode;
import io.taskbatch.testing.Scrape;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's and the alerts' queries name metrics that exist, with label names those metrics carry: every
 * metric a PromQL expression of dashboards/taskbatch.json or of the rendered PrometheusRule names is checked against
 * real scrapes: taskbatch's meters registered in a Prometheus registry as the roles register them, and a private
 * RabbitMQ node started with the chart's own enabled_plugins ({@code rabbitmq_*}). Only {@code kube_*}, from
 * kube-state-metrics, which nothing here runs, are taken from {@link #KUBE_STATE_METRICS}.
 */
class MonitoringQueriesTest {
    /** kube-state-metrics series (v2, default collectors) the alerts use, with their labels. */
    static final Map<String, Set<String>> KUBE_STATE_METRICS = Map.of(
            "kube_pod_container_status_restarts_total", Set.of("namespace", "pod", "uid", "container"),
            "kube_pod_owner", Set.of("namespace", "pod", "uid", "owner_kind", "owner_name", "owner_is_controller"));
    /** Labels Prometheus adds to every series of a target of the chart's PodMonitors and ServiceMonitor. */
    static final Set<String> TARGET_LABELS = Set.of("namespace", "pod", "container", "endpoint", "job", "instance",
            "service", "batch", "role");

    @TempDir
    static Path tmp;
    static ChartRenderer helm;
    static RabbitNode rabbit;
    static List<HasMetadata> rendered;
    /** Every series name a scrape returns, with the label names seen on it. */
    static final Map<String, Set<String>> KNOWN = new TreeMap<>();

    @BeforeAll
    static void scrapeEverything() throws Exception {
        helm = ChartRenderer.start(tmp);
        rendered = MonitoringChartTest.render(helm, MonitoringChartTest.monitoring());
        add(taskbatchScrape());
        add(rabbitScrape());
        KNOWN.putAll(KUBE_STATE_METRICS);
    }

    @AfterAll
    static void stop() throws IOException {
        if (rabbit != null) rabbit.close();
        if (helm != null) helm.close();
    }

    static void add(Scrape scrape) {
        scrape.samples().forEach(s -> KNOWN.computeIfAbsent(s.name(), k -> new TreeSet<>()).addAll(s.labels().keySet()));
    }

    /** What a worker, a master and the operator serve on /q/metrics (the registry Quarkus' micrometer-registry-prometheus uses). */
    static Scrape taskbatchScrape() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        WorkerMetrics worker = new WorkerMetrics(registry, "team-a", "squares", "command");
        for (WorkerMetrics.Outcome outcome : WorkerMetrics.Outcome.values()) worker.attempt(outcome, 3_000_000);
        worker.resultsPublished(1);
        worker.resultsConfirmed(1, true);
        worker.resultsConfirmed(1, false);
        worker.gauge(MetricNames.WORKER_SLOTS, "slots", () -> 4);
        worker.gauge(MetricNames.WORKER_SLOTS_BUSY, "busy", () -> 3);
        worker.gauge(MetricNames.WORKER_TASKS_BUFFERED, "buffered", () -> 2);
        worker.gauge(MetricNames.WORKER_PREFETCH, "prefetch", () -> 8);
        Progress progress = new Progress(100, 60, false, 40, 2, 5, 1, 1, 1, 0, Duration.ofSeconds(10), List.of());
        Map<String, Long> depths = new LinkedHashMap<>();
        MasterMetrics.QUEUES.forEach(q -> depths.put(q, 3L));
        MasterMetrics.register(registry, "team-a", "squares", () -> progress, () -> depths);
        OperatorMetrics operator = new OperatorMetrics(registry);
        operator.reconciled("team-a", "squares", true);
        operator.reconciled("team-a", "squares", false);
        operator.phase("uid-1", "team-a", "Running");
        return Scrape.parse(registry.scrape());
    }

    /**
     * The rabbitmq_prometheus plugin of a private node started with the chart's enabled_plugins, both endpoints
     * (per-object and aggregated), after a batch's queue got a message.
     */
    static Scrape rabbitScrape() throws Exception {
        ConfigMap config = (ConfigMap) rendered.stream().filter(o -> o instanceof ConfigMap
                && o.getMetadata().getName().equals("taskbatch-rabbitmq-config")).findFirst().orElseThrow();
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        rabbit = RabbitNode.builder().enabledPlugins(config.getData().get("enabled_plugins"))
                .config("prometheus.tcp.port", Integer.toString(port)).config("prometheus.tcp.ip", "127.0.0.1")
                .config("collect_statistics_interval", "500").start();
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(rabbit.amqpUri());
        try (Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
            String queue = "taskbatch.team-a.squares.3f1c2a4e.tasks";
            channel.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
            channel.confirmSelect();
            channel.basicPublish("", queue, null, "1".getBytes(StandardCharsets.UTF_8));
            channel.waitForConfirmsOrDie(10_000);
            // one delivered and acked message, so that the delivery counters have a sample
            channel.basicQos(1);
            var got = channel.basicGet(queue, false);
            channel.basicAck(got.getEnvelope().getDeliveryTag(), false);
            channel.basicPublish("", queue, null, "2".getBytes(StandardCharsets.UTF_8));
            channel.waitForConfirmsOrDie(10_000);
        }
        // the plugin reads statistics the node emits every collect_statistics_interval: wait for the queue's
        String queue = "taskbatch.team-a.squares.3f1c2a4e.tasks";
        Scrape scrape = null;
        for (long until = System.nanoTime() + Duration.ofSeconds(60).toNanos(); System.nanoTime() < until; Thread.sleep(500)) {
            StringBuilder text = new StringBuilder();
            try {
                for (String path : List.of("/metrics/per-object", "/metrics")) {
                    HttpResponse<String> response = Scrape.get(port, path);
                    assertThat(response.statusCode()).as(path).isEqualTo(200);
                    text.append(response.body()).append('\n');
                }
            } catch (IOException notYet) {
                continue; // the plugin's listener starts with the node, a moment after AMQP
            }
            scrape = Scrape.parse(text.toString());
            if (!scrape.matching("rabbitmq_queue_messages_ready", "queue", queue).isEmpty()
                    && scrape.sum("rabbitmq_queue_messages", "queue", queue) >= 1) break;
        }
        assertThat(scrape).as("rabbitmq_prometheus answered").isNotNull();
        assertThat(scrape.matching("rabbitmq_queue_messages_ready", "queue", queue))
                .as("per-object: a series per queue; the scrape has %s", scrape.names()).isNotEmpty();
        return scrape;
    }

    /** Every PromQL expression of the dashboard (panel targets), with where it is. */
    static Map<String, String> dashboardExpressions() throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(CHART.resolve("dashboards/taskbatch.json").toFile());
        Map<String, String> exprs = new LinkedHashMap<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                exprs.put("panel '" + panel.get("title").asText() + "' " + target.get("refId").asText(), target.get("expr").asText());
            }
        }
        // a query variable's label_values(SELECTOR, label): its selector
        Pattern labelValues = Pattern.compile("label_values\\((.*),\\s*\\w+\\)");
        for (JsonNode variable : dashboard.at("/templating/list")) {
            if (!variable.path("type").asText().equals("query")) continue;
            Matcher m = labelValues.matcher(variable.at("/query/query").asText());
            assertThat(m.matches()).as("variable %s: label_values(selector, label)", variable.get("name")).isTrue();
            exprs.put("variable " + variable.get("name").asText(), m.group(1));
        }
        return exprs;
    }

    static Map<String, String> alertExpressions() {
        Map<String, String> exprs = new LinkedHashMap<>();
        for (JsonNode rule : list(spec(custom(rendered, "PrometheusRule", "taskbatch")).at("/groups/0/rules"))) {
            exprs.put("alert " + rule.get("alert").asText(), rule.get("expr").asText());
        }
        return exprs;
    }

    @Test
    void theScrapesHaveWhatTheQueriesAreCheckedAgainst() {
        assertThat(KNOWN).containsKeys("taskbatch_worker_tasks_total", "taskbatch_task_duration_seconds_bucket",
                "taskbatch_master_tasks", "taskbatch_master_tasks_done_total", "taskbatch_operator_reconciles_total",
                "taskbatch_operator_batches", "rabbitmq_queue_messages_ready");
        assertThat(KNOWN.get("taskbatch_task_duration_seconds_bucket")).contains("le", "executor", "namespace", "batch");
    }

    @Test
    void everyDashboardQueryNamesMetricsThatExist() throws IOException {
        Map<String, String> exprs = dashboardExpressions();
        assertThat(exprs).hasSizeGreaterThan(20);
        assertThat(problems(exprs)).isEmpty();
        // the panels the issue asks for draw on these
        Set<String> named = new TreeSet<>();
        exprs.values().forEach(e -> named.addAll(PromQl.metricNames(e)));
        assertThat(named).contains("taskbatch_master_tasks_done_total", "taskbatch_master_tasks", "taskbatch_worker_tasks_total",
                "taskbatch_master_tasks_retried_total", "taskbatch_master_tasks_dead_total", "taskbatch_task_duration_seconds_bucket",
                "taskbatch_worker_slots_busy", "taskbatch_worker_slots", "taskbatch_worker_tasks_buffered", "taskbatch_worker_prefetch",
                "taskbatch_master_queue_messages", "taskbatch_master_tasks_in_flight", "taskbatch_master_results_duplicates_total",
                "taskbatch_operator_batches", "taskbatch_operator_reconciles_total", "rabbitmq_queue_messages_ready");
    }

    @Test
    void everyAlertQueryNamesMetricsThatExist() {
        Map<String, String> exprs = alertExpressions();
        assertThat(exprs).hasSize(5);
        assertThat(problems(exprs)).isEmpty();
    }

    @Test
    void theCheckCatchesAMisnamedMetricOrLabel() {
        assertThat(problems(Map.of("counter without _total", "sum(rate(taskbatch_worker_tasks{outcome=\"failed\"}[5m]))")))
                .singleElement().asString().contains("taskbatch_worker_tasks");
        assertThat(problems(Map.of("a label the metric lacks", "sum(rate(taskbatch_worker_tasks_total{status=\"failed\"}[5m]))")))
                .singleElement().asString().contains("status");
        assertThat(problems(Map.of("timer without its unit", "histogram_quantile(0.9, sum by (le) (rate(taskbatch_task_duration_bucket[5m])))")))
                .singleElement().asString().contains("taskbatch_task_duration_bucket");
    }

    @Test
    void theTokenizerSeesMetricsNotFunctionsLabelsDurationsOrVariables() {
        String expr = "histogram_quantile(0.95, sum by (le, executor) (rate(a_bucket{namespace=~\"$namespace\", x=\"rate(b)\"}"
                + "[$__rate_interval]))) / on (namespace) group_left (owner) max without (pod) (c offset 5m) > bool 1e3"
                + " and label_replace(d, \"batch\", \"$1\", \"owner_name\", \"(.+)-workers\") unless e[5m:1m]";
        assertThat(PromQl.metricNames(expr)).containsExactly("a_bucket", "c", "d", "e");
        assertThat(PromQl.selectors(expr).getFirst().labels()).containsExactly("namespace", "x");
    }

    /** What is wrong with the expressions: metrics no scrape has, label names their metric lacks. */
    static List<String> problems(Map<String, String> exprs) {
        List<String> problems = new ArrayList<>();
        exprs.forEach((where, expr) -> {
            List<PromQl.Selector> selectors = PromQl.selectors(expr);
            if (selectors.isEmpty()) problems.add(where + ": names no metric: " + expr);
            for (PromQl.Selector s : selectors) {
                Set<String> labels = KNOWN.get(s.metric());
                if (labels == null) {
                    problems.add(where + ": no scrape has " + s.metric() + " (" + expr + ")");
                    continue;
                }
                for (String label : s.labels()) {
                    if (!labels.contains(label) && !TARGET_LABELS.contains(label)) {
                        problems.add(where + ": " + s.metric() + " has no label " + label + " (it has " + labels + ")");
                    }
                }
            }
        });
        return problems;
    }
}
