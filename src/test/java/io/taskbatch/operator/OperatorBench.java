package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.taskbatch.testing.MockCluster;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Operator benchmark against the mock API server; prints its numbers and asserts none. Not run by
 * {@code ./mvnw verify} (the name matches no test pattern): run it with
 * {@code ./mvnw -o test -Dtest=OperatorBench -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class OperatorBench {
    static final int SEQUENTIAL = 30;
    static final int BURST = 200;

    @Inject
    KubernetesClient client;

    @Inject
    Operator operator;

    /** When each Job was first seen, by name, from a watch (not by polling, which would add its interval). */
    final Map<String, Long> seen = new ConcurrentHashMap<>();

    static String batch(String name) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: %s
                spec:
                  tasks: {range: {from: 1, to: 1000}}
                  run: {builtin: square}
                  workers: {replicas: 2}
                """.formatted(name);
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
    void createToJobs() throws Exception {
        MockCluster.start(client, operator);
        var watch = client.batch().v1().jobs().inAnyNamespace().watch(new Watcher<Job>() {
            @Override
            public void eventReceived(Action action, Job job) {
                seen.putIfAbsent(job.getMetadata().getNamespace() + "/" + job.getMetadata().getName(), System.nanoTime());
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
        try {
            // warm-up: class loading, informers, JIT
            String warm = MockCluster.namespace(client, "warm");
            MockCluster.brokerSecret(client, warm, "taskbatch-broker", "amqp://bench:bench@localhost:5672");
            for (int i = 0; i < 20; i++) MockCluster.create(client, warm, batch("w" + i));
            for (int i = 0; i < 20; i++) bothJobs(warm, "w" + i, System.nanoTime() + TimeUnit.SECONDS.toNanos(60));

            String ns = MockCluster.namespace(client, "seq");
            MockCluster.brokerSecret(client, ns, "taskbatch-broker", "amqp://bench:bench@localhost:5672");
            List<Double> latencies = new ArrayList<>();
            for (int i = 0; i < SEQUENTIAL; i++) {
                long start = System.nanoTime();
                MockCluster.create(client, ns, batch("s" + i));
                long at = bothJobs(ns, "s" + i, start + TimeUnit.SECONDS.toNanos(30));
                latencies.add((at - start) / 1e6);
            }
            Collections.sort(latencies);

            String burst = MockCluster.namespace(client, "burst");
            MockCluster.brokerSecret(client, burst, "taskbatch-broker", "amqp://bench:bench@localhost:5672");
            long start = System.nanoTime();
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
                for (int i = 0; i < BURST; i++) {
                    String name = "b" + i;
                    pool.submit(() -> MockCluster.create(client, burst, batch(name)));
                }
            }
            long created = System.nanoTime();
            long last = 0;
            for (int i = 0; i < BURST; i++) last = Math.max(last, bothJobs(burst, "b" + i, start + TimeUnit.SECONDS.toNanos(300)));
            double seconds = (last - start) / 1e9;

            System.out.printf(Locale.ROOT, "%n== operator bench (fabric8 mock API server, %d cores, JDK %s)%n",
                    Runtime.getRuntime().availableProcessors(), Runtime.version());
            System.out.printf(Locale.ROOT, "create -> both Jobs, %d batches one by one: median %.0f ms, p90 %.0f ms, max %.0f ms%n",
                    SEQUENTIAL, latencies.get(SEQUENTIAL / 2), latencies.get(SEQUENTIAL * 9 / 10), latencies.get(SEQUENTIAL - 1));
            System.out.printf(Locale.ROOT, "%d batches created by 8 threads in %.1f s: all %d Jobs %.1f s after the first create = %.0f batches/s"
                    + " (last Jobs %.0f ms after the last create)%n",
                    BURST, (created - start) / 1e9, 2 * BURST, seconds, BURST / seconds, (last - created) / 1e6);
        } finally {
            watch.close();
        }
    }
}
