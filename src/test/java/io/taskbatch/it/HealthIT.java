package io.taskbatch.it;

import static io.taskbatch.it.JarProcesses.await;
import static io.taskbatch.it.JarProcesses.exitOf;
import static io.taskbatch.it.JarProcesses.results;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.RabbitNode;
import io.taskbatch.testing.Scrape;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /q/health/ready} of master and worker processes, as a kubelet's readiness probe sees it: a worker is not
 * ready while it waits for its batch's queues and is once it consumes; a master once its queues are declared.
 */
class HealthIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    @TempDir
    Path dir;

    record Health(int code, String body) {
    }

    static Health ready(int port) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return new Health(r.statusCode(), r.body());
        } catch (IOException e) {
            return new Health(-1, e.toString()); // not listening yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** One series of each binder Quarkus' Micrometer extension bound with its JVM and system binders on. */
    static boolean servesJvmMeters(int port) {
        try {
            Set<String> names = Scrape.of(port).names();
            return names.containsAll(List.of("jvm_classes_loaded_classes", "jvm_gc_overhead", "jvm_memory_used_bytes",
                    "jvm_threads_live_threads", "jvm_info_total", "jvm_gc_memory_allocated_bytes_total", "process_uptime_seconds",
                    "system_cpu_count", "process_files_open_files"));
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void aWorkerIsReadyOnceItConsumesAndAMasterOnceItsQueuesAreDeclared(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("probe", BrokerFaultsIT.sleepBatch("probe", 400, 50, ""));
            Path out = dir.resolve("probe.jsonl");
            int workerPort = freePort();
            Process worker = jar.start("worker", Map.of("TASKBATCH_HTTP_PORT", Integer.toString(workerPort)),
                    "worker", "--manifest", manifest.toString(), "--slots", "2");
            await(Duration.ofSeconds(60), "the worker, connected, says it waits for the master",
                    () -> ready(workerPort).body().contains("waiting for the master"));
            Health waiting = ready(workerPort);
            assertThat(waiting.code()).isEqualTo(503);
            assertThat(waiting.body()).contains("\"taskbatch worker\"", "DOWN").doesNotContain("Operator SDK");

            int masterPort = freePort();
            Process master = jar.start("master", Map.of("TASKBATCH_HTTP_PORT", Integer.toString(masterPort)),
                    "master", "--manifest", manifest.toString(), "--progress", "none", "--output", out.toString());
            await(Duration.ofSeconds(60), "the master is ready", () -> ready(masterPort).code() == 200);
            assertThat(ready(masterPort).body()).contains("\"taskbatch master\"", "UP");
            await(Duration.ofSeconds(60), "the worker is ready", () -> ready(workerPort).code() == 200);
            assertThat(ready(workerPort).body()).contains("\"taskbatch worker\"", "UP");
            // the JVM's and the system's meters, which JvmMeters binds beside the role's start where a server serves them
            await(Duration.ofSeconds(30), "the worker serves the JVM's and the system's meters", () -> servesJvmMeters(workerPort));

            assertThat(exitOf(master, Duration.ofSeconds(120))).as(jar.log("master")).isZero();
            assertThat(exitOf(worker, Duration.ofSeconds(60))).as(jar.log("worker")).isZero();
            BrokerFaultsIT.assertEveryIdExactlyOnce(results(out), 400);
        }
    }
}
