package io.taskbatch.cli;

import static io.taskbatch.TestBatches.plan;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.TestBatches.CollectingSink;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.LinesSource;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.TaskSource;
import io.taskbatch.master.TaskSources;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.worker.TaskExecutor;
import io.taskbatch.worker.TaskExecutors;
import io.taskbatch.worker.TaskHandlers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole batches through the master, the in-memory queues and a worker's slots. */
class LocalRunTest {

    static BatchOutcome run(BatchPlan plan, int slots, CollectingSink sink) throws Exception {
        TaskSource source = TaskSources.create(plan.spec().getTasks(), new TaskSources.Resources() {
            @Override
            public LinesSource.TextOpener configMapKey(String name, String key) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Path volume(String claimName) {
                throw new UnsupportedOperationException();
            }
        });
        try (TaskExecutor executor = TaskExecutors.create(plan.spec().getRun(), TaskHandlers.standard(), slots, null,
                Map.of(), plan.id())) {
            return LocalRun.execute(plan, source, executor, slots, sink, ProgressListener.NONE, Duration.ofMillis(50));
        }
    }

    @Test
    void squaresGiveExactlyTheExpectedResults() throws Exception {
        CollectingSink sink = new CollectingSink();
        BatchOutcome outcome = run(plan("squares", """
                  tasks:
                    items: ["3411", "1605", "3411", "-12", "99999999999"]
                  run:
                    builtin: square
                """), 2, sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(sink.byId()).extracting(ResultMessage::id, ResultMessage::input, ResultMessage::output,
                ResultMessage::attempts, r -> r.status().name()).containsExactly(
                org.assertj.core.groups.Tuple.tuple(0L, "3411", "3411 * 3411 = 11634921", 1, "SUCCEEDED"),
                org.assertj.core.groups.Tuple.tuple(1L, "1605", "1605 * 1605 = 2576025", 1, "SUCCEEDED"),
                org.assertj.core.groups.Tuple.tuple(2L, "3411", "3411 * 3411 = 11634921", 1, "SUCCEEDED"),
                org.assertj.core.groups.Tuple.tuple(3L, "-12", "-12 * -12 = 144", 1, "SUCCEEDED"),
                org.assertj.core.groups.Tuple.tuple(4L, "99999999999", "99999999999 * 99999999999 = 9999999999800000000001", 1, "SUCCEEDED"));
        assertThat(outcome.progress().total()).isEqualTo(5);
    }

    /** The retry policy's backoff holds a retry back in one process too (the in-memory retry path owns the delay). */
    @Test
    void aRetryWaitsForItsBackoff() throws Exception {
        CollectingSink sink = new CollectingSink();
        long start = System.nanoTime();
        BatchOutcome outcome = run(plan("backoff", """
                  tasks:
                    items: ["2"]
                  run:
                    builtin: fail
                  retry: {maxAttempts: 3, backoff: 300ms, maxBackoff: 1s}
                """), 1, sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(sink.byId()).extracting(ResultMessage::attempts).containsExactly(3);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("300 ms, then 600 ms").isGreaterThanOrEqualTo(Duration.ofMillis(900));
    }

    @Test
    void tenThousandTasksEachGiveExactlyOneResult() throws Exception {
        CollectingSink sink = new CollectingSink();
        BatchOutcome outcome = run(plan("many", """
                  tasks:
                    range: {from: 1, to: 10000}
                  run:
                    builtin: square
                """), 3, sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(sink.byId()).extracting(ResultMessage::id).containsExactlyElementsOf(
                LongStream.range(0, 10_000).boxed().toList());
        assertThat(outcome.progress().duplicates()).isZero();
    }

    @Test
    void aTaskThatFailsTwiceSucceedsOnItsThirdAttemptAndOneThatAlwaysFailsIsFailedAfterThree() throws Exception {
        CollectingSink sink = new CollectingSink();
        BatchOutcome outcome = run(plan("retries", """
                  tasks:
                    items: ["2", "always", "0"]
                  run:
                    builtin: fail
                  retry: {maxAttempts: 3, backoff: 10ms, maxBackoff: 40ms}
                  failurePolicy: {maxFailedTasks: 1}
                """), 2, sink);
        List<ResultMessage> results = sink.byId();
        assertThat(results.get(0).succeeded()).isTrue();
        assertThat(results.get(0).attempts()).isEqualTo(3);
        assertThat(results.get(0).output()).isEqualTo("succeeded on attempt 3");
        assertThat(results.get(1).succeeded()).isFalse();
        assertThat(results.get(1).attempts()).isEqualTo(3);
        assertThat(results.get(1).error()).contains("failing as asked").contains("attempt 3");
        assertThat(results.get(2).attempts()).isEqualTo(1);
        assertThat(outcome.succeeded()).as("1 failed task is within maxFailedTasks: 1").isTrue();
        assertThat(outcome.progress().retried()).isEqualTo(4);
    }

    @Test
    void moreFailedTasksThanAllowedFailTheBatchAndStopIt() throws Exception {
        CollectingSink sink = new CollectingSink();
        String items = "\"always\", \"always\"" + ", \"0\"".repeat(50_000);
        BatchOutcome outcome = run(plan("policy", """
                  tasks:
                    items: [%s]
                  run:
                    builtin: fail
                  retry: {maxAttempts: 1}
                  failurePolicy: {maxFailedTasks: 1}
                """.formatted(items)), 1, sink);
        assertThat(outcome.succeeded()).isFalse();
        assertThat(outcome.reason()).isEqualTo("2 tasks failed, more than maxFailedTasks=1; the batch stopped");
        assertThat(outcome.progress().done()).as("the batch stopped early").isLessThan(50_002);
    }

    @Test
    void anInputThatCanNeverWorkIsNotRetried() throws Exception {
        CollectingSink sink = new CollectingSink();
        run(plan("permanent", """
                  tasks:
                    items: ["abc"]
                  run:
                    builtin: square
                  retry: {maxAttempts: 5, backoff: 10ms}
                  failurePolicy: {maxFailedTasks: 1}
                """), 1, sink);
        assertThat(sink.byId()).singleElement().satisfies(r -> {
            assertThat(r.attempts()).isEqualTo(1);
            assertThat(r.error()).isEqualTo("square: input \"abc\" is not an integer");
        });
    }

    @Test
    void aBuiltinThatOverrunsItsTimeoutIsStoppedAndFailed() throws Exception {
        CollectingSink sink = new CollectingSink();
        long start = System.nanoTime();
        BatchOutcome outcome = run(plan("timeout", """
                  tasks:
                    items: ["60000", "1"]
                  run:
                    builtin: sleep
                  taskTimeout: 300ms
                  retry: {maxAttempts: 1}
                  failurePolicy: {maxFailedTasks: 1}
                """), 2, sink);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(sink.byId().get(0).error()).isEqualTo("timed out after 300ms (taskTimeout)");
        assertThat(sink.byId().get(1).output()).isEqualTo("slept 1 ms");
        assertThat(outcome.succeeded()).isTrue();
    }

    @Test
    void commandTasksRunAsChildProcessesWithTheInputOnStdin() throws Exception {
        CollectingSink sink = new CollectingSink();
        BatchOutcome outcome = run(plan("cmd", """
                  tasks:
                    range: {from: 1, to: 20}
                  run:
                    command: ["sh", "-c", "read n; echo $((n * n))"]
                """), 2, sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(sink.byId()).extracting(ResultMessage::output).containsExactlyElementsOf(
                LongStream.rangeClosed(1, 20).mapToObj(n -> Long.toString(n * n)).toList());
    }

    @Test
    void aProcessPoolChildThatDiesMidTaskIsReplacedAndTheBatchCompletes(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("died-once");
        String child = """
                while IFS= read -r line; do
                  [[ $line =~ \\"id\\":([0-9]+) ]] && id=${BASH_REMATCH[1]}
                  if [[ $id == 13 && ! -e %s ]]; then touch %s; exit 3; fi
                  printf '{"id":%%s,"output":"%%s"}\\n' "$id" "$$"
                done
                """.formatted(marker, marker);
        CollectingSink sink = new CollectingSink();
        BatchOutcome outcome = run(plan("pool", """
                  tasks:
                    range: {from: 1, to: 40}
                  run:
                    processPool:
                      command: ["bash", "-c", %s]
                      maxTasksPerProcess: 1000
                  retry: {maxAttempts: 2, backoff: 10ms}
                """.formatted(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(child))), 2, sink);
        assertThat(outcome.succeeded()).as(String.valueOf(outcome.reason())).isTrue();
        List<ResultMessage> results = sink.byId();
        assertThat(results).hasSize(40).allMatch(ResultMessage::succeeded);
        assertThat(results.get(13).attempts()).isEqualTo(2);
        assertThat(java.nio.file.Files.exists(marker)).isTrue();
        // the dead child's replacement answered too: at least two pids
        assertThat(results.stream().map(ResultMessage::output).distinct().count()).isGreaterThanOrEqualTo(2);
    }
}
