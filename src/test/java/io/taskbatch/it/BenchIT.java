package io.taskbatch.it;

import static io.taskbatch.it.JarProcesses.exitOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.cli.StartupClock;
import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.RabbitNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** What {@code bench --broker} promises a user, on the packaged jar and a private RabbitMQ: every figure in one run. */
class BenchIT {
    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension(RabbitNode.builder());

    @TempDir
    Path dir;

    @Test
    void runOverTheBrokerLogsWhenEachRoleGotItsFirstResult(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("squares", """
                    apiVersion: taskbatch.io/v1alpha1
                    kind: TaskBatch
                    metadata:
                      name: squares
                    spec:
                      tasks:
                        range: {from: 1, to: 500}
                      run:
                        builtin: square
                    """);
            Process run = jar.start("run", "run", manifest.toString(), "--worker-processes", "2", "--progress", "none",
                    "--output", dir.resolve("out.jsonl").toString());
            assertThat(exitOf(run, Duration.ofMinutes(2))).as(jar.log("run")).isZero();
            String log = jar.log("run");
            assertThat(StartupClock.seconds("master", log)).as(log).hasSize(1).allSatisfy(s -> assertThat(s).isPositive());
            // once per worker process, however many results it sent (a worker that starts late may get no task at all)
            assertThat(StartupClock.seconds("worker", log)).as(log).hasSizeBetween(1, 2).allSatisfy(s -> assertThat(s).isPositive());
        }
    }

    @Test
    void benchOverTheBrokerPrintsTheBoundTheRatioTheCpuTheMakespanTheStartUpAndTheShardsInOneRun(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Process bench = jar.start("bench", "bench", "--broker", rabbit.amqpUri(), "--tasks", "2000");
            assertThat(exitOf(bench, Duration.ofMinutes(5))).as(jar.log("bench")).isZero();
            String table = Files.readString(dir.resolve("bench.out"));
            assertThat(table).as(table)
                    .containsPattern(row("broker bound: 2 quorum queues at once .* = [0-9,]+ tasks/s \\([0-9,]+ before the run below, [0-9,]+ after\\)"))
                    .containsPattern(row("run --broker --worker-processes 2: 2,000 echo tasks, .* = [0-9.]+ of the bound "
                            + "\\(results [0-9]+ to a message\\) +goal >= 0.80"))
                    .containsPattern(row("the same by the master's own clock .* = [0-9.]+ of the bound"))
                    .containsPattern(row("CPU per task, .* master [0-9]+ us \\([0-9]+\\), workers [0-9]+ us \\([0-9]+\\)"))
                    .containsPattern(row("the same with the master compiled by C2 too .* = [0-9.]+ of the bound; master [0-9]+ us"))
                    .containsPattern(row("mixed batch: .* makespan [0-9.]+ x ideal +goal <= 1.2"))
                    .containsPattern(row("worker start-up, 3 JVMs starting at once: .* [0-9.]+ s(, [0-9.]+ s| \\(the other worker came too late"
                            + " for a task\\)) +the goal is for one alone"))
                    .containsPattern(row("worker start-up, joining a running batch alone: .* \\(3 starts\\) +[0-9.]+ s, [0-9.]+ s, [0-9.]+ s"
                            + " +goal <= 2 s"))
                    .containsPattern(row("  the same, its CPU to that result \\(of it compiling\\) +[0-9.]+ s \\([0-9.]+\\), [0-9.]+ s "
                            + "\\([0-9.]+\\), [0-9.]+ s \\([0-9.]+\\) *$"))
                    .containsPattern(row("  the same started with C2 too, .* +[0-9.]+ s; CPU [0-9.]+ s \\([0-9.]+\\) *$"))
                    .containsPattern(row("master start-up: .* [0-9.]+ s"))
                    .containsPattern(row("shards \\(spec.queues.shards\\): 400 trivial tasks, .* on the 1 node the URI names"))
                    .containsPattern(row("K = 1  [0-9,]+ tasks/s"))
                    .containsPattern(row("K = 3  [0-9,]+ tasks/s  \\([0-9.]+ x K = 1\\)"))
                    .containsPattern(row("load average [0-9.]+ [0-9.]+ [0-9.]+ at the start"));
        }
    }

    private static Pattern row(String regex) {
        return Pattern.compile("(?m)^\\s*" + regex);
    }
}
