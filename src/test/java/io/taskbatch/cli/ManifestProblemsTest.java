package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.worker.TaskHandlers;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * Every role reports every problem of a manifest in one run, exits 2 and starts nothing: {@code run},
 * {@code master --manifest}, {@code worker --manifest}, and the cluster's {@code --batch} (from the
 * API, or from {@code $TASKBATCH_MANIFEST} as the operator hands it to workers).
 */
@EnableKubernetesMockClient(crud = true)
class ManifestProblemsTest {
    static KubernetesClient client;

    /** One of each kind: an unknown field, a wrong type, a missing field, a cross-field check, a bad glob, a bad env name. */
    private static final String BROKEN = """
            apiVersion: taskbatch.io/v1alpha1
            kind: TaskBatch
            metadata: {name: broken, namespace: ns}
            spec:
              tasks:
                files: {claimName: data, glob: "logs/[a"}
              run:
                command: ["cat"]
                logStderr: sometimes
              retry: {maxAttempt: 3, backoff: 5m, maxBackoff: 1m}
              workers:
                concurrency: many
                env: {"A=B": x}
            """;
    private static final List<String> EXPECTED = List.of(
            "spec.run.logStderr: expected true or false, got \"sometimes\"",
            "spec.retry.maxAttempt: unknown field \"maxAttempt\"",
            "spec.workers.concurrency: expected an integer, got \"many\"",
            "spec.tasks.files.glob: \"logs/[a\" is not a glob",
            "spec.retry.backoff: 5m is longer than maxBackoff 1m",
            "spec.workers.env.A=B: not a variable name");

    @TempDir
    Path dir;

    private static List<String> problems(String err) {
        return err.lines().filter(l -> l.startsWith("  ")).map(String::strip).toList();
    }

    private static void assertEveryProblem(String err) {
        List<String> lines = problems(err);
        assertThat(lines).as(err).hasSize(EXPECTED.size());
        for (String expected : EXPECTED) assertThat(lines).as(err).anySatisfy(l -> assertThat(l).startsWith(expected));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"run", "master", "worker"})
    void everyRoleListsEveryProblemExits2AndConnectsToNothing(String role) throws Exception {
        Path manifest = Files.writeString(dir.resolve("broken.yaml"), BROKEN);
        Path output = dir.resolve("results.jsonl");
        try (ServerSocket broker = new ServerSocket(0)) {
            String uri = "amqp://127.0.0.1:" + broker.getLocalPort();
            Callable<Integer> command;
            String[] args;
            switch (role) {
                case "run" -> {
                    RunCommand c = new RunCommand();
                    c.handlers = TaskHandlers.standard();
                    command = c;
                    args = new String[] {manifest.toString(), "--output", output.toString(), "--progress", "none", "--broker", uri};
                }
                case "master" -> {
                    MasterCommand c = new MasterCommand();
                    c.handlers = TaskHandlers.standard();
                    command = c;
                    args = new String[] {"--manifest", manifest.toString(), "--output", output.toString(), "--broker", uri,
                            "--broker-wait", "1s"};
                }
                default -> {
                    WorkerCommand c = new WorkerCommand();
                    c.handlers = TaskHandlers.standard();
                    command = c;
                    args = new String[] {"--manifest", manifest.toString(), "--broker", uri, "--broker-wait", "1s"};
                }
            }
            StringWriter err = new StringWriter();
            CommandLine cli = new CommandLine(command);
            cli.setErr(new PrintWriter(err, true));

            int exit = cli.execute(args);

            assertThat(exit).as(err.toString()).isEqualTo(ExitCodes.INVALID);
            assertThat(err.toString()).startsWith("invalid manifest " + manifest + ":");
            assertEveryProblem(err.toString());
            assertThat(output).as("nothing ran").doesNotExist();
            broker.setSoTimeout(1);
            assertThat(acceptedAny(broker)).as("no connection to the broker").isFalse();
        }
    }

    @Test
    void aMissingConfigMapIsListedWithTheOtherProblems() throws Exception {
        Path manifest = Files.writeString(dir.resolve("cm.yaml"), """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: cm}
                spec:
                  tasks: {configMap: {name: inputs, key: tasks.txt}}
                  run: {builtin: square}
                  retry: {maxAttempts: 0}
                """);
        StringWriter err = new StringWriter();
        assertThat(BatchFile.load(manifest, null, TaskHandlers.standard(), new PrintWriter(err, true))).isNull();
        assertThat(problems(err.toString())).as(err.toString()).hasSize(2)
                .anySatisfy(l -> assertThat(l).startsWith("spec.retry.maxAttempts: must be >= 1"))
                .anySatisfy(l -> assertThat(l).startsWith("spec.tasks.configMap: ConfigMap \"inputs\" is not in"));
    }

    @Test
    void aWorkerGivenTheManifestByTheOperatorListsEveryProblem() {
        String json = Serialization.asJson(Serialization.unmarshal(BROKEN, Object.class));
        StringWriter err = new StringWriter();
        assertThat(ClusterBatch.fromEnv(json, "ns/broken", TaskHandlers.standard(), new PrintWriter(err, true))).isNull();
        assertThat(err.toString()).startsWith("invalid $TASKBATCH_MANIFEST:");
        assertEveryProblem(err.toString());
    }

    @Test
    void aBatchReadFromTheApiListsEveryProblem() {
        // as the API server stores it: the schema's type checks passed, the checks only the code makes did not
        TaskBatch batch = Serialization.unmarshal("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: broken, namespace: ns}
                spec:
                  tasks: {files: {claimName: data, glob: "logs/[a"}}
                  run: {builtin: square, keepStderr: true}
                  retry: {backoff: 5m, maxBackoff: 1m}
                  workers: {env: {"A=B": x}}
                """, TaskBatch.class);
        client.resources(TaskBatch.class).inNamespace("ns").resource(batch).create();
        StringWriter err = new StringWriter();
        assertThat(ClusterBatch.fromApi(client, "ns/broken", TaskHandlers.standard(), new PrintWriter(err, true))).isNull();
        assertThat(err.toString()).startsWith("invalid TaskBatch ns/broken:");
        assertThat(problems(err.toString())).as(err.toString()).hasSize(4)
                .anySatisfy(l -> assertThat(l).startsWith("spec.tasks.files.glob: \"logs/[a\" is not a glob"))
                .anySatisfy(l -> assertThat(l).startsWith("spec.run.keepStderr: a builtin has no stderr"))
                .anySatisfy(l -> assertThat(l).startsWith("spec.retry.backoff: 5m is longer than maxBackoff 1m"))
                .anySatisfy(l -> assertThat(l).startsWith("spec.workers.env.A=B: not a variable name"));
    }

    private static boolean acceptedAny(ServerSocket server) {
        try (var ignored = server.accept()) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
