package io.taskbatch.it;

import static io.taskbatch.it.JarProcesses.exitOf;
import static io.taskbatch.it.JarProcesses.results;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.RabbitNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/taskbatch} as a user runs it (the README's first command): it starts the JVM from the build's class path with
 * its class archive, and a {@code run} over a broker starts its worker processes the same way. A worker started any other
 * way (from the jar, or with another class path) would run, but without the archive: so the test asks every JVM which
 * of our classes it took from the archive.
 */
class LauncherIT {
    private static final int TASKS = 2_000;

    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    @TempDir
    Path dir;

    @Test
    void aRunOverTheBrokerStartsItsWorkersAsTheScriptStartedItsMasterAndEveryJvmMapsTheArchive(RabbitNode rabbit) throws Exception {
        Path manifest = Files.writeString(dir.resolve("launcher.yaml"), """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: launcher
                spec:
                  tasks:
                    range: {from: 0, to: %d}
                  run:
                    builtin: echo
                """.formatted(TASKS - 1));
        Path out = dir.resolve("launcher.jsonl");
        ProcessBuilder pb = new ProcessBuilder(Path.of("bin", "taskbatch").toAbsolutePath().toString(), "run", manifest.toString(),
                "--worker-processes", "2", "--progress", "none", "--output", out.toString())
                .directory(dir.toFile())
                .redirectOutput(dir.resolve("run.out").toFile()).redirectError(dir.resolve("run.log").toFile());
        pb.environment().put("TASKBATCH_BROKER_URI", rabbit.amqpUri());
        pb.environment().remove("TASKBATCH_JAR");
        // every JVM (worker processes inherit the master's JVM options) logs where each class came from, to a file of its own
        pb.environment().put("TASKBATCH_JAVA_OPTS", "-Xlog:class+load=info:file=" + dir.resolve("classes-%p.log"));
        Process run = pb.start();
        // the first start after a build also makes the archive (a small in-memory batch)
        assertThat(exitOf(run, Duration.ofMinutes(4))).as(Files.readString(dir.resolve("run.log"))).isZero();

        List<JsonNode> results = results(out);
        assertThat(results).hasSize(TASKS);
        assertThat(results.stream().map(r -> r.get("id").asLong()).distinct().count()).isEqualTo(TASKS);
        assertThat(results).allMatch(r -> r.get("status").asText().equals("succeeded"));

        List<String> logs = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("classes-")).toList()) logs.add(Files.readString(f));
        }
        assertThat(logs).as("one class log per JVM: the master's and its two workers'").hasSize(3);
        // started from the class path, not the jar: the jar's entry point (which makes Quarkus's own class loader) never ran
        assertThat(logs).noneMatch(log -> log.contains("io.quarkus.bootstrap.runner.QuarkusEntryPoint "));
        assertThat(logs).filteredOn(log -> log.contains("io.taskbatch.queue.amqp.AmqpMasterTransport ")).as("the master").hasSize(1);
        assertThat(logs).filteredOn(log -> log.contains("io.taskbatch.queue.amqp.AmqpWorkerTransport ")).as("the workers").hasSize(2);
        // each mapped the archive (made by an in-memory batch, so it holds our commands' classes but not the broker's)
        assertThat(logs).allMatch(log -> log.contains("io.taskbatch.cli.WorkerCommand source: shared objects file"));
    }
}
