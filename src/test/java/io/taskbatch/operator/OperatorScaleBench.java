package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.lang.management.ManagementFactory;
import javax.management.ObjectName;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.testing.MockCluster;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The operator with 1,000 TaskBatches against the mock API server, in one JVM: heap after GC, create-to-Jobs latency
 * (p50/p99), JOSDK's reconcile timer, threads and informers, running batches looked at every 30 s as in production. Prints its numbers and asserts none (the property it
 * shows, nothing per batch, is {@link OperatorScaleTest}'s). Not run by {@code ./mvnw verify}: run it with
 * {@code ./mvnw -o test -Dtest=OperatorScaleBench -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@TestProfile(OperatorScaleTest.ProductionResync.class)
class OperatorScaleBench {
    static final int BATCHES = Integer.getInteger("bench.batches", 1000);
    /** The batches' spec.workers.replicas: a fixed count by default (as the figures in the README), {@code auto} as a batch has it when it says nothing. */
    static final String REPLICAS = System.getProperty("bench.replicas", "2");
    /** Ready nodes of 16 cores the cluster has (none by default): auto batches then share them, and re-size each other. */
    static final int NODES = Integer.getInteger("bench.nodes", 0);
    static final int CREATORS = 8;
    static final String RECONCILE_TIMER = "operator.sdk.controllers.execution.reconcile";
    static final List<Long> BUCKETS_MS = List.of(5L, 10L, 25L, 50L, 100L, 250L, 500L, 1000L, 2500L, 5000L, 10000L, 30000L);

    @Inject
    KubernetesClient client;

    @Inject
    Operator operator;

    @Inject
    MeterRegistry registry;

    final Map<String, Long> seen = new ConcurrentHashMap<>();
    final Map<String, Long> created = new ConcurrentHashMap<>();
    /** Each worker Job's parallelism as last seen, and how many times one changed. */
    final Map<String, Integer> parallelism = new ConcurrentHashMap<>();
    final AtomicInteger resized = new AtomicInteger();

    /** {@link OperatorScaleTest#batch}, with {@link #REPLICAS} workers. */
    static String batch(String name) {
        return OperatorScaleTest.batch(name).replace("replicas: 2", "replicas: " + REPLICAS);
    }

    long bothJobs(String ns, String name, long deadlineNanos) throws InterruptedException {
        while (System.nanoTime() < deadlineNanos) {
            Long m = seen.get(ns + "/" + name + "-master");
            Long w = seen.get(ns + "/" + name + "-workers");
            if (m != null && w != null) return Math.max(m, w);
            Thread.sleep(1);
        }
        throw new IllegalStateException("no Jobs for " + ns + "/" + name);
    }

    @Test
    void thousandBatches() throws Exception {
        // JOSDK's reconcile timers count into fixed buckets too, which add up across timers (a bench-side view; the
        // operator's requests are unchanged)
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                return id.getName().equals(RECONCILE_TIMER)
                        ? DistributionStatisticConfig.builder().serviceLevelObjectives(BUCKETS_MS.stream()
                                .mapToDouble(ms -> TimeUnit.MILLISECONDS.toNanos(ms)).toArray()).build().merge(config) : config;
            }
        });
        MockCluster.start(client, operator);
        var watch = client.batch().v1().jobs().inAnyNamespace().watch(new Watcher<Job>() {
            @Override
            public void eventReceived(Action action, Job job) {
                String key = job.getMetadata().getNamespace() + "/" + job.getMetadata().getName();
                seen.putIfAbsent(key, System.nanoTime());
                Integer now = job.getSpec().getParallelism();
                Integer was = now == null ? parallelism.get(key) : parallelism.put(key, now);
                if (was != null && now != null && !was.equals(now)) resized.incrementAndGet();
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
        try {
            for (int i = 0; i < NODES; i++) {
                client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-" + i)
                        .endMetadata().withNewStatus().addToAllocatable("cpu", new Quantity("16"))
                        .addToAllocatable("memory", new Quantity("64Gi"))
                        .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build()).create();
            }
            String warm = MockCluster.namespace(client, "warm");
            MockCluster.brokerSecret(client, warm, "taskbatch-broker", "amqp://bench:bench@localhost:5672");
            for (int i = 0; i < 20; i++) MockCluster.create(client, warm, batch("w" + i));
            for (int i = 0; i < 20; i++) bothJobs(warm, "w" + i, System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
            long heapBefore = OperatorFootprint.heapAfterGc();
            OperatorFootprint before = OperatorFootprint.of(operator, null, "");

            String ns = MockCluster.namespace(client, "many");
            MockCluster.brokerSecret(client, ns, "taskbatch-broker", "amqp://bench:bench@localhost:5672");
            long start = System.nanoTime();
            try (var pool = Executors.newFixedThreadPool(CREATORS)) {
                for (int i = 0; i < BATCHES; i++) {
                    String name = "b" + i;
                    pool.submit(() -> {
                        long at = System.nanoTime();
                        MockCluster.create(client, ns, batch(name));
                        created.put(name, at);
                    });
                }
            }
            long allCreated = System.nanoTime();
            List<Double> latencies = new ArrayList<>();
            long last = 0;
            for (int i = 0; i < BATCHES; i++) {
                long jobs = bothJobs(ns, "b" + i, start + TimeUnit.MINUTES.toNanos(15));
                last = Math.max(last, jobs);
                latencies.add((jobs - created.get("b" + i)) / 1e6);
            }
            Collections.sort(latencies);
            long heapAfter = OperatorFootprint.heapAfterGc();
            OperatorFootprint after = OperatorFootprint.of(operator, null, "");
            long stored = storedBytes(ns);

            System.out.printf(Locale.ROOT, "%n== operator with %d TaskBatches, replicas %s (fabric8 mock API server in the same JVM, %d cores, JDK %s, max heap %d MB)%n",
                    BATCHES, REPLICAS, Runtime.getRuntime().availableProcessors(), Runtime.version(), Runtime.getRuntime().maxMemory() >> 20);
            System.out.printf(Locale.ROOT, "created by %d threads in %.1f s; all %d Jobs %.1f s after the first create (%.0f batches/s)%n",
                    CREATORS, (allCreated - start) / 1e9, 2 * BATCHES, (last - start) / 1e9, BATCHES / ((last - start) / 1e9));
            System.out.printf(Locale.ROOT, "create -> both Jobs: p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
                    latencies.get(BATCHES / 2), latencies.get(BATCHES * 99 / 100), latencies.get(BATCHES - 1));
            System.out.println(reconcileTimes());
            System.out.printf(Locale.ROOT, "worker Jobs re-sized %d times (%d nodes of 16 cores)%n", resized.get(), NODES);
            System.out.printf(Locale.ROOT, "heap after GC: %.1f MB with the 20 warm-up batches, %.1f MB with %d more = %.1f KB per batch,"
                            + " of which the mock server's stored objects (their JSON) %.1f KB%n",
                    heapBefore / 1048576.0, heapAfter / 1048576.0, BATCHES, (heapAfter - heapBefore) / 1024.0 / BATCHES,
                    stored / 1024.0 / BATCHES);
            printHistogram();
            System.out.printf(Locale.ROOT, "threads: %d -> %d (grown: %s); informers: %d -> %d%n",
                    before.threads(), after.threads(), before.grownIn(after), before.informers(), after.informers());
        } finally {
            watch.close();
        }
    }

    /** JOSDK's reconcile timers, added up: how many, the mean, and the buckets p50 and p99 fall in. */
    String reconcileTimes() {
        var timers = registry.find(RECONCILE_TIMER).timers();
        if (timers.isEmpty()) {
            return "no JOSDK reconcile timer; its meters: " + registry.getMeters().stream().map(m -> m.getId().getName())
                    .filter(n -> n.startsWith("operator.sdk")).distinct().sorted().toList();
        }
        double[] cumulative = new double[BUCKETS_MS.size()];
        long count = 0;
        double totalMs = 0;
        double maxMs = 0;
        for (Timer timer : timers) {
            var snapshot = timer.takeSnapshot();
            count += snapshot.count();
            totalMs += snapshot.total(TimeUnit.MILLISECONDS);
            maxMs = Math.max(maxMs, snapshot.max(TimeUnit.MILLISECONDS));
            for (CountAtBucket bucket : snapshot.histogramCounts()) {
                int i = BUCKETS_MS.indexOf(Math.round(bucket.bucket(TimeUnit.MILLISECONDS)));
                if (i >= 0) cumulative[i] += bucket.count();
            }
        }
        return String.format(Locale.ROOT, "JOSDK reconcile timer (%d timers): %d reconciliations, mean %.1f ms, p50 %s, p99 %s, max %.0f ms",
                timers.size(), count, totalMs / count, bucketOf(cumulative, 0.5 * count), bucketOf(cumulative, 0.99 * count), maxMs);
    }

    static String bucketOf(double[] cumulative, double rank) {
        for (int i = 0; i < cumulative.length; i++) {
            if (cumulative[i] >= rank) return (i == 0 ? "≤ " : BUCKETS_MS.get(i - 1) + "-") + BUCKETS_MS.get(i) + " ms";
        }
        return "> " + BUCKETS_MS.getLast() + " ms";
    }

    /** The live objects by class, the largest first (HotSpot's GC.class_histogram), when -Dbench.histogram=N asks for N lines. */
    static void printHistogram() throws Exception {
        int lines = Integer.getInteger("bench.histogram", 0);
        if (lines == 0) return;
        Object out = ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "gcClassHistogram", new Object[] {null}, new String[] {String[].class.getName()});
        out.toString().lines().limit(lines + 3L).forEach(System.out::println);
    }

    /** What the mock server holds for the batches in {@code ns}: the JSON of every object there (1 byte a character). */
    long storedBytes(String ns) {
        var json = client.getKubernetesSerialization();
        long bytes = 0;
        for (var list : List.of(client.resources(TaskBatch.class).inNamespace(ns).list().getItems(),
                client.batch().v1().jobs().inNamespace(ns).list().getItems(),
                client.serviceAccounts().inNamespace(ns).list().getItems(),
                client.rbac().roles().inNamespace(ns).list().getItems(),
                client.rbac().roleBindings().inNamespace(ns).list().getItems(),
                client.configMaps().inNamespace(ns).list().getItems(),
                client.v1().events().inNamespace(ns).list().getItems())) {
            for (Object o : list) bytes += json.asJson(o).length();
        }
        return bytes;
    }
}
