package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.taskbatch.worker.TaskHandlers;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** The {@code run} command's contract: exit codes, errors that name the field, nothing run on bad input. */
class RunCommandTest {
    private static final String HEAD = "apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata:\n  name: bad\n";
    private static final String OK_TASKS = "  tasks:\n    items: [\"1\"]\n";
    private static final String OK_RUN = "  run:\n    builtin: square\n";

    @TempDir
    Path dir;

    record Outcome(int exit, String err, Path output) {
    }

    Outcome run(String yaml, String... extra) throws Exception {
        Path manifest = dir.resolve("batch.yaml");
        Files.writeString(manifest, yaml);
        Path output = dir.resolve("results.jsonl");
        Files.deleteIfExists(output);
        RunCommand command = new RunCommand();
        command.handlers = TaskHandlers.standard();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setErr(new PrintWriter(err, true));
        String[] args = Stream.concat(Stream.of(manifest.toString(), "--output", output.toString(), "--progress", "none"),
                Stream.of(extra)).toArray(String[]::new);
        int exit = cli.execute(args);
        return new Outcome(exit, err.toString(), output);
    }

    static Stream<Arguments> brokenManifests() {
        return Stream.of(
                Arguments.of("two sources", HEAD + "spec:\n  tasks:\n    items: [\"1\"]\n    range: {from: 1, to: 3}\n" + OK_RUN,
                        "spec.tasks: set exactly one of items, range, configMap, files; found 2: items, range"),
                Arguments.of("no source", HEAD + "spec:\n  tasks: {}\n" + OK_RUN, "spec.tasks: set exactly one"),
                Arguments.of("no tasks at all", HEAD + "spec:\n" + OK_RUN, "spec.tasks: required"),
                Arguments.of("no executor", HEAD + "spec:\n" + OK_TASKS, "spec.run: required"),
                Arguments.of("two executors", HEAD + "spec:\n" + OK_TASKS + "  run:\n    builtin: square\n    command: [\"true\"]\n",
                        "spec.run: set exactly one of builtin, command, processPool; found 2: builtin, command"),
                Arguments.of("unknown builtin", HEAD + "spec:\n" + OK_TASKS + "  run:\n    builtin: sqaure\n",
                        "spec.run.builtin: unknown builtin \"sqaure\"; known: echo, fail, sha256, sleep, square"),
                Arguments.of("range step 0", HEAD + "spec:\n  tasks:\n    range: {from: 1, to: 5, step: 0}\n" + OK_RUN,
                        "spec.tasks.range.step: must not be 0"),
                Arguments.of("range that holds nothing", HEAD + "spec:\n  tasks:\n    range: {from: 10, to: 1}\n" + OK_RUN,
                        "spec.tasks.range: from 10 to 1 by 1 holds no number"),
                Arguments.of("range without to", HEAD + "spec:\n  tasks:\n    range: {from: 1}\n" + OK_RUN,
                        "spec.tasks.range.to: required"),
                Arguments.of("unknown field", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  retry:\n    maxAttempt: 3\n",
                        "spec.retry.maxAttempt: unknown field \"maxAttempt\"; known fields here: backoff, maxAttempts, maxBackoff"),
                Arguments.of("misspelled spec field", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  taskTimeuot: 5m\n",
                        "spec.taskTimeuot: unknown field"),
                Arguments.of("text where a number goes", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  retry:\n    maxAttempts: three\n",
                        "spec.retry.maxAttempts: expected an integer, got \"three\""),
                Arguments.of("fraction where a whole number goes", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  retry:\n    maxAttempts: 2.5\n",
                        "spec.retry.maxAttempts: expected an integer"),
                Arguments.of("a string where a list goes", HEAD + "spec:\n  tasks:\n    items: \"3411\"\n" + OK_RUN,
                        "spec.tasks.items: expected a list"),
                Arguments.of("a string where an object goes", HEAD + "spec:\n" + OK_TASKS + "  run: square\n",
                        "spec.run: expected a mapping"),
                Arguments.of("empty command", HEAD + "spec:\n" + OK_TASKS + "  run:\n    command: []\n",
                        "spec.run.command: must name a program"),
                Arguments.of("empty program", HEAD + "spec:\n" + OK_TASKS + "  run:\n    command: [\"\", \"x\"]\n",
                        "spec.run.command[0]: the program must not be empty"),
                Arguments.of("keepStderr with a builtin", HEAD + "spec:\n" + OK_TASKS + "  run:\n    builtin: square\n    keepStderr: true\n",
                        "spec.run.keepStderr: a builtin has no stderr"),
                Arguments.of("logStderr with a builtin", HEAD + "spec:\n" + OK_TASKS + "  run:\n    builtin: square\n    logStderr: true\n",
                        "spec.run.logStderr: a builtin has no stderr"),
                Arguments.of("logStderr in words", HEAD + "spec:\n" + OK_TASKS + "  run:\n    command: [\"cat\"]\n    logStderr: yes please\n",
                        "spec.run.logStderr: expected true or false, got \"yes please\""),
                Arguments.of("process pool without command", HEAD + "spec:\n" + OK_TASKS + "  run:\n    processPool: {maxTasksPerProcess: 5}\n",
                        "spec.run.processPool.command: required"),
                Arguments.of("process pool recycling at 0", HEAD + "spec:\n" + OK_TASKS
                                + "  run:\n    processPool: {command: [\"cat\"], maxTasksPerProcess: 0}\n",
                        "spec.run.processPool.maxTasksPerProcess: must be >= 1"),
                Arguments.of("not a duration", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  taskTimeout: 10 minutes\n",
                        "spec.taskTimeout: \"10 minutes\" is not a duration"),
                Arguments.of("no attempts", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  retry: {maxAttempts: 0}\n",
                        "spec.retry.maxAttempts: must be >= 1"),
                Arguments.of("no weight", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  workers: {weight: 0}\n",
                        "spec.workers.weight: must be >= 1 (the default 1 shares equally)"),
                Arguments.of("no shard", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  queues: {shards: 0}\n",
                        "spec.queues.shards: must be 1 to 32 (one per broker node is the useful most), was 0"),
                Arguments.of("misspelled queues field", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  queues: {shard: 3}\n",
                        "spec.queues.shard: unknown field \"shard\"; known fields here: shards"),
                Arguments.of("backoff above its maximum", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  retry: {backoff: 5m, maxBackoff: 1m}\n",
                        "spec.retry.backoff: 5m is longer than maxBackoff 1m"),
                Arguments.of("unknown sourceErrors", HEAD + "spec:\n  tasks:\n    items: [\"1\"]\n    sourceErrors: skip\n" + OK_RUN,
                        "spec.tasks.sourceErrors: \"skip\" must be failTask (a line that cannot be read fails its task; the "
                                + "default) or failBatch (it fails the batch)"),
                Arguments.of("negative failure budget", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  failurePolicy: {maxFailedTasks: -1}\n",
                        "spec.failurePolicy.maxFailedTasks: must be >= 0"),
                Arguments.of("replicas neither auto nor a number", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  workers: {replicas: many}\n",
                        "spec.workers.replicas: \"many\" must be auto or a number >= 1"),
                Arguments.of("negative concurrency", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  workers: {concurrency: -2}\n",
                        "spec.workers.concurrency: must be >= 0"),
                Arguments.of("redrive of a kind there is not", HEAD + "spec:\n" + OK_TASKS + OK_RUN
                                + "  redrive: {round: 1, select: [failed, flaky]}\n",
                        "spec.redrive.select[1]: \"flaky\" is not one of failed, dead, cancelled"),
                Arguments.of("redrive of nothing", HEAD + "spec:\n" + OK_TASKS + OK_RUN + "  redrive: {round: 1, select: []}\n",
                        "spec.redrive.select: name at least one of failed, dead, cancelled"),
                Arguments.of("absolute glob", HEAD + "spec:\n  tasks:\n    files: {claimName: data, glob: /etc/*}\n" + OK_RUN,
                        "spec.tasks.files.glob: must be relative"),
                Arguments.of("missing ConfigMap", HEAD + "spec:\n  tasks:\n    configMap: {name: inputs, key: tasks.txt}\n" + OK_RUN,
                        "spec.tasks.configMap: ConfigMap \"inputs\" is not in"),
                Arguments.of("no name", HEAD.replace("  name: bad\n", "  labels: {a: b}\n") + "spec:\n" + OK_TASKS + OK_RUN,
                        "metadata.name: required"),
                Arguments.of("name with capitals", HEAD.replace("name: bad", "name: My_Batch") + "spec:\n" + OK_TASKS + OK_RUN,
                        "metadata.name: \"My_Batch\" must be"),
                Arguments.of("no spec", HEAD, "spec: required"),
                Arguments.of("another kind", HEAD.replace("kind: TaskBatch", "kind: Job") + "spec: {}\n",
                        "kind: no TaskBatch in the file (found: Job)"),
                Arguments.of("another version", HEAD.replace("v1alpha1", "v2") + "spec:\n" + OK_TASKS + OK_RUN,
                        "apiVersion: \"taskbatch.io/v2\" is not supported; expected taskbatch.io/v1alpha1"),
                Arguments.of("not YAML", HEAD + "spec:\n  tasks: [unclosed\n", "line "));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenManifests")
    void aBrokenManifestExitsWith2NamesTheFieldAndRunsNothing(String what, String yaml, String expected) throws Exception {
        Outcome o = run(yaml);
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.INVALID);
        assertThat(o.err()).contains(expected);
        assertThat(o.output()).as("nothing ran, so no results file").doesNotExist();
    }

    /**
     * The local twin of {@code taskbatch redrive}: after fixing the cause, {@code --redrive} runs again only the failed
     * tasks of an earlier run, with their ids, writing into the same file: the kept results first, as they were, then
     * the new ones; every id once, the counts the whole batch's.
     */
    @Test
    void redriveRunsAgainOnlyTheFailedTasksAndRewritesTheResultsInPlace() throws Exception {
        String yaml = HEAD + """
                spec:
                  tasks:
                    items: ["1", "bad", "3", "bad", "5"]
                  run:
                    command: ["sh", "-c", "case $TASK_INPUT in bad) [ \\"$FIXED\\" = 1 ] || exit 3;; esac; echo \\"$TASK_INPUT $FIXED\\""]
                  retry: {maxAttempts: 1}
                  failurePolicy: {maxFailedTasks: 10}
                  workers: {env: {FIXED: "0"}}
                """;
        Outcome first = run(yaml);
        assertThat(first.exit()).as(first.err()).isZero();
        List<String> before = Files.readAllLines(first.output());
        assertThat(before).hasSize(5).filteredOn(l -> l.contains("\"status\":\"failed\"")).hasSize(2);

        Files.writeString(dir.resolve("batch.yaml"), yaml.replace("FIXED: \"0\"", "FIXED: \"1\""));
        RunCommand command = new RunCommand();
        command.handlers = TaskHandlers.standard();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(dir.resolve("batch.yaml").toString(), "--redrive", first.output().toString(),
                "--output", first.output().toString(), "--select", "failed", "--progress", "plain");
        assertThat(exit).as(err.toString()).isZero();
        List<String> after = Files.readAllLines(first.output());
        assertThat(after).hasSize(5);
        assertThat(after.subList(0, 3)).as("the kept results first, as they were")
                .containsExactlyElementsOf(before.stream().filter(l -> l.contains("\"status\":\"succeeded\"")).toList());
        assertThat(after.subList(3, 5)).allSatisfy(l -> assertThat(l).contains("\"input\":\"bad\"", "\"status\":\"succeeded\"",
                "\"output\":\"bad 1\""));
        assertThat(after).extracting(l -> l.replaceAll("^\\{\"id\":(\\d+),.*", "$1")).containsExactlyInAnyOrder("0", "1", "2", "3", "4");
        assertThat(err.toString()).contains("5/5 done, 5 succeeded, 0 failed");
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).as("no copy of the previous results left")
                    .noneMatch(n -> n.endsWith(".previous"));
        }

        Outcome onBroker = run(yaml, "--redrive", first.output().toString(), "--broker", "amqp://127.0.0.1:1");
        assertThat(onBroker.exit()).isEqualTo(ExitCodes.INVALID);
        assertThat(onBroker.err()).contains("--redrive runs on this machine's in-memory queues");
    }

    @Test
    void aPodTemplateIsCheckedButOnlyNotedLocallyAndABadOneRunsNothing() throws Exception {
        String template = "  workers:\n    template:\n      metadata: {labels: {team: a}}\n"
                + "  master:\n    cpu: 500m\n";
        Outcome ok = run(HEAD + "spec:\n" + OK_TASKS + OK_RUN + template);
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.err()).contains("note: spec.workers.template is for the cluster's pods; taskbatch run ignores it",
                "note: spec.master is for the cluster's pods");
        Outcome bad = run(HEAD + "spec:\n" + OK_TASKS + OK_RUN
                + "  workers:\n    template:\n      spec:\n        containers: [{name: worker, command: [x]}]\n");
        assertThat(bad.exit()).as(bad.err()).isEqualTo(ExitCodes.INVALID);
        assertThat(bad.err()).contains("spec.workers.template.spec.containers[worker].command: is set by the operator");
        assertThat(bad.output()).doesNotExist();
    }

    @Test
    void shardsOutsideOneToThirtyTwoAreRefusedWithTheRange() throws Exception {
        Outcome o = run(HEAD + "spec:\n" + OK_TASKS + OK_RUN, "--shards", "0", "--broker", "amqp://127.0.0.1:1");
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.INVALID);
        assertThat(o.err()).contains("--shards must be 1 to 32 (one per broker node is the useful most), was 0");
    }

    @Test
    void allViolationsAreReportedAtOnce() throws Exception {
        Outcome o = run(HEAD + "spec:\n  tasks:\n    range: {from: 1, to: 3, step: 0}\n  run:\n    builtin: nope\n"
                + "  retry: {maxAttempts: 0}\n  taskTimeout: soon\n");
        assertThat(o.exit()).isEqualTo(ExitCodes.INVALID);
        assertThat(o.err()).contains("spec.tasks.range.step", "spec.run.builtin", "spec.retry.maxAttempts", "spec.taskTimeout");
    }

    @Test
    void fiveMistakesOfEveryKindGiveFiveLinesInOneRun() throws Exception {
        Outcome o = run(HEAD + "spec:\n"
                + "  tasks:\n    range: {from: 1}\n    itemz: [a]\n"            // missing range.to; unknown field in tasks
                + OK_RUN
                + "  retry:\n    maxAttempt: 3\n    backoff: 5m\n    maxBackoff: 1m\n" // unknown field in retry; backoff > max
                + "  workers:\n    concurrency: many\n");                      // text where a number goes
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.INVALID);
        List<String> lines = o.err().lines().filter(l -> l.startsWith("  ")).map(String::strip).toList();
        assertThat(lines).as(o.err()).hasSize(5);
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("spec.tasks.itemz: unknown field \"itemz\""))
                .anySatisfy(l -> assertThat(l).startsWith("spec.retry.maxAttempt: unknown field \"maxAttempt\""))
                .anySatisfy(l -> assertThat(l).startsWith("spec.workers.concurrency: expected an integer, got \"many\""))
                .anySatisfy(l -> assertThat(l).startsWith("spec.tasks.range.to: required"))
                .anySatisfy(l -> assertThat(l).startsWith("spec.retry.backoff: 5m is longer than maxBackoff 1m"));
        assertThat(o.output()).doesNotExist();
    }

    @Test
    void aWrongTypeIsNotReportedTwice() throws Exception {
        Outcome o = run(HEAD + "spec:\n" + OK_TASKS + "  run: square\n  taskTimeuot: 5m\n");
        List<String> lines = o.err().lines().filter(l -> l.startsWith("  ")).map(String::strip).toList();
        assertThat(lines).as(o.err()).hasSize(2);
        assertThat(lines.get(0)).startsWith("spec.run: expected a mapping");
        assertThat(lines.get(1)).startsWith("spec.taskTimeuot: unknown field");
    }

    @Test
    void aMissingFileIsNamed() throws Exception {
        RunCommand command = new RunCommand();
        command.handlers = TaskHandlers.standard();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute(dir.resolve("nope.yaml").toString())).isEqualTo(ExitCodes.INVALID);
        assertThat(err.toString()).contains("nope.yaml: no such file");
    }

    /** Issue 12: a 5 MB inline item was refused only after 17 s and 1.5 GB; now before the file is read. */
    @Test
    void aManifestBeyondTheYamlLimitIsRefusedBeforeItIsRead() throws Exception {
        Path big = dir.resolve("big.yaml");
        Files.writeString(big, "apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata: {name: big}\nspec:\n  tasks:\n"
                + "    items: [\"" + "a".repeat(5_000_000) + "\"]\n  run: {builtin: echo}\n");
        RunCommand command = new RunCommand();
        command.handlers = TaskHandlers.standard();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute(big.toString())).isEqualTo(ExitCodes.INVALID);
        assertThat(err.toString()).contains("big.yaml: is 4.8 MiB; a manifest may be at most 3 MiB")
                .contains("spec.tasks.files");
    }

    @Test
    void zeroWorkersIsRefused() throws Exception {
        Outcome o = run(HEAD + "spec:\n" + OK_TASKS + OK_RUN, "--workers", "0");
        assertThat(o.exit()).isEqualTo(ExitCodes.INVALID);
        assertThat(o.err()).contains("--workers: must be at least 1");
    }

    @Test
    void aBatchOverItsFailureBudgetExitsWith1() throws Exception {
        Outcome o = run(HEAD + "spec:\n  tasks:\n    items: [\"always\", \"0\"]\n  run:\n    builtin: fail\n  retry: {maxAttempts: 2, backoff: 10ms}\n");
        assertThat(o.exit()).isEqualTo(ExitCodes.FAILED);
        assertThat(o.err()).contains("FAILED").contains("more than maxFailedTasks=0").contains("failing as asked");
    }

    @Test
    void aConfigMapInTheSameFileFeedsTheTasksOnePerLine() throws Exception {
        Outcome o = run("""
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: inputs
                data:
                  tasks.txt: |
                    4
                    5

                    6
                ---
                """ + HEAD + "spec:\n  tasks:\n    configMap: {name: inputs, key: tasks.txt}\n" + OK_RUN);
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.SUCCEEDED);
        List<String> lines = Files.readAllLines(o.output());
        assertThat(lines).hasSize(3).allSatisfy(l -> assertThat(l).startsWith("{\"id\":"));
        assertThat(String.join("\n", lines)).contains("\"4 * 4 = 16\"", "\"5 * 5 = 25\"", "\"6 * 6 = 36\"");
    }

    /** A lines file beside the manifest: "1" to "1000", with lines 7 and 500 not UTF-8. */
    private void thousandLinesTwoNotUtf8() throws Exception {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        for (int line = 1; line <= 1000; line++) {
            text.writeBytes(Integer.toString(line).getBytes(StandardCharsets.US_ASCII));
            if (line == 7 || line == 500) text.write(0xff);
            text.write('\n');
        }
        Files.write(dir.resolve("tasks.txt"), text.toByteArray());
    }

    private static final String LINES_FILE = HEAD + "spec:\n  tasks:\n    configMap: {name: inputs, key: tasks.txt}\n";

    /**
     * Issue 12: with {@code sourceErrors: failTask} (the default) the two bad lines are two failed tasks, named by
     * their lines, and the batch succeeds within its failure budget; every id is in the results once.
     */
    @Test
    void linesThatAreNotUtf8FailTheirTasksAndTheRestRuns() throws Exception {
        thousandLinesTwoNotUtf8();
        Outcome o = run(LINES_FILE + OK_RUN + "  failurePolicy: {maxFailedTasks: 5}\n");
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.SUCCEEDED);
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> results = new ArrayList<>();
        for (String line : Files.readAllLines(o.output())) results.add(json.readTree(line));
        assertThat(results).extracting(r -> r.get("id").asLong()).as("every id exactly once")
                .containsExactlyInAnyOrderElementsOf(LongStream.range(0, 1000).boxed().toList());
        assertThat(results).filteredOn(r -> r.get("status").asText().equals("succeeded")).hasSize(998)
                .allSatisfy(r -> assertThat(r.get("output").asText())
                        .isEqualTo(r.get("input").asText() + " * " + r.get("input").asText() + " = "
                                + (long) Math.pow(r.get("id").asLong() + 1, 2)));
        List<JsonNode> failed = results.stream().filter(r -> r.get("status").asText().equals("failed"))
                .sorted(Comparator.comparingLong(r -> r.get("id").asLong())).toList();
        assertThat(failed).extracting(r -> r.get("id").asLong()).containsExactly(6L, 499L);
        assertThat(failed).extracting(r -> r.get("error").asText()).containsExactly(
                "line 7 of tasks.txt is not valid UTF-8 (byte 0xff at column 2), so its task never ran: fix the line, or set "
                        + "spec.tasks.sourceErrors: failBatch to stop the batch at such a line",
                "line 500 of tasks.txt is not valid UTF-8 (byte 0xff at column 4), so its task never ran: fix the line, or set "
                        + "spec.tasks.sourceErrors: failBatch to stop the batch at such a line");
        assertThat(failed).allSatisfy(r -> {
            assertThat(r.get("input").isNull()).isTrue();
            assertThat(r.get("attempts").asInt()).isZero();
        });
    }

    /** Over its failure budget, the summary's first failures show the bad lines as tasks without input. */
    @Test
    void unreadableLinesOverTheFailureBudgetFailTheBatch() throws Exception {
        thousandLinesTwoNotUtf8();
        Outcome o = run(LINES_FILE + OK_RUN + "  failurePolicy: {maxFailedTasks: 1}\n");
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.FAILED);
        assertThat(o.err()).contains("2 tasks failed, more than maxFailedTasks=1")
                .contains("  task 6 (no input, 0 attempts): line 7 of tasks.txt is not valid UTF-8 (byte 0xff at column 2)")
                .contains("  task 499 (no input, 0 attempts): line 500 of tasks.txt is not valid UTF-8");
        assertThat(Files.readAllLines(o.output())).as("every id once, as for any stopped batch").hasSize(1000);
    }

    /** With {@code sourceErrors: failBatch}, the first bad line fails the batch before any task runs, and is named. */
    @Test
    void withFailBatchALineThatIsNotUtf8FailsTheBatchNamingIt() throws Exception {
        thousandLinesTwoNotUtf8();
        Outcome o = run(LINES_FILE + "    sourceErrors: failBatch\n" + OK_RUN + "  failurePolicy: {maxFailedTasks: 5}\n");
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.FAILED);
        assertThat(o.err()).contains("FAILED").contains("reading tasks from ConfigMap inputs key tasks.txt failed: "
                + "line 7 of tasks.txt is not valid UTF-8 (byte 0xff at column 2): fix the line, or set "
                + "spec.tasks.sourceErrors: failTask to fail only its task");
        assertThat(Files.exists(o.output()) ? Files.readString(o.output()) : "").as("no task ran").doesNotContain("succeeded");
    }

    @Test
    void filesOfAVolumeAreHashedByPath() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data/logs"));
        Files.writeString(data.resolve("a.log"), "hello\n");
        Outcome o = run(HEAD + "spec:\n  tasks:\n    files: {claimName: data, glob: \"logs/*.log\"}\n  run:\n    builtin: sha256\n",
                "--volume", "data=" + dir.resolve("data"));
        assertThat(o.exit()).as(o.err()).isEqualTo(ExitCodes.SUCCEEDED);
        assertThat(Files.readString(o.output()))
                .contains("\"input\":\"" + data.resolve("a.log") + "\"")
                .contains("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    }
}
