package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.taskbatch.queue.TaskMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ProcessPoolExecutorTest {

    /** Answers "<its pid>:<input>"; some inputs make it misbehave. */
    private static final String CHILD = """
            id_re='"id":([0-9]+)'
            input_re='"input":"([^"]*)"'
            while IFS= read -r line; do
              [[ $line =~ $id_re ]] || exit 9
              id=${BASH_REMATCH[1]}
              [[ $line =~ $input_re ]]
              input=${BASH_REMATCH[1]}
              case $input in
                crash-once) if [[ ! -e crashed ]]; then : > crashed; echo "dying on purpose" >&2; exit 3; fi ;;
                fail) printf '{"id":%s,"error":"cannot do %s"}\\n' "$id" "$input"; continue ;;
                hang) sleep 300 & echo $! > hang.pid; wait; continue ;;
                noisy-hang) echo "stuck on $id" >&2; sleep 300 & wait; continue ;;
                noisy-fail) echo "why $id failed" >&2; sleep 0.1; printf '{"id":%s,"error":"cannot do %s"}\\n' "$id" "$input"; continue ;;
                not-json) echo "this is not json"; continue ;;
                wrong-id) printf '{"id":%s,"output":"x"}\\n' "$((id + 1))"; continue ;;
                env) printf '{"id":%s,"output":"%s %s %s"}\\n' "$id" "$TASKBATCH_PROTOCOL" "$TASK_BATCH" "$EXTRA"; continue ;;
                slow*) sleep 0.3 ;;
              esac
              printf '{"id":%s,"output":"%s"}\\n' "$id" "$$:$input"
            done
            """;

    @TempDir
    Path dir;

    private ProcessPoolExecutor pool(int maxChildren, int maxTasksPerProcess) {
        return new ProcessPoolExecutor(List.of("bash", "-c", CHILD), maxChildren, maxTasksPerProcess, dir,
                Map.of("EXTRA", "extra-value"), "batch-a");
    }

    private static String run(ProcessPoolExecutor pool, TaskMessage task, Duration timeout) throws Exception {
        try (var scope = new TaskContext("batch-a", task.id(), task.attempt(), System.nanoTime() + timeout.toNanos(), "t").bind()) {
            return pool.execute(task);
        }
    }

    private static String run(ProcessPoolExecutor pool, long id, String input) throws Exception {
        return run(pool, TaskMessage.first(id, input), Duration.ofSeconds(10));
    }

    private static long pidOf(String output) {
        return Long.parseLong(output.substring(0, output.indexOf(':')));
    }

    @Test
    void answersComeBackAndOneChildServesConsecutiveTasks() throws Exception {
        try (var pool = pool(1, 100)) {
            List<Long> pids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String output = run(pool, i, "task-" + i);
                assertThat(output).endsWith(":task-" + i);
                pids.add(pidOf(output));
            }
            assertThat(run(pool, 99, "env")).isEqualTo("jsonl-1 batch-a extra-value");

            assertThat(new HashSet<>(pids)).hasSize(1);
            assertThat(pool.childrenStarted()).isEqualTo(1);
            assertThat(pool.liveChildren()).isEqualTo(1);
        }
    }

    @Test
    void requestsAndAnswersLargerThanAPipeArriveWhole() throws Exception {
        try (var pool = pool(1, 100)) {
            String input = "a".repeat(100_000);

            String output = run(pool, 1, input);

            assertThat(output).hasSize(output.indexOf(':') + 1 + input.length()).endsWith(":" + input);
            // the next request and answer are still in step
            assertThat(run(pool, 2, "next")).isEqualTo(pidOf(output) + ":next");
        }
    }

    @Test
    void aChildThatDiesMidTaskFailsTheTaskAndTheRetryRunsOnAFreshChild() throws Exception {
        try (var pool = pool(1, 100)) {
            long first = pidOf(run(pool, 1, "ok"));

            TaskMessage task = TaskMessage.first(2, "crash-once");
            TaskFailure failure = catchThrowableOfType(TaskFailure.class, () -> run(pool, task, Duration.ofSeconds(10)));

            assertThat(failure.retryable()).isTrue();
            assertThat(failure.getMessage())
                    .startsWith("process pool child pid " + first + " exited with code 3 while running the task")
                    .endsWith("stderr: dying on purpose");
            assertThat(pool.liveChildren()).isZero();

            String retried = run(pool, task.nextAttempt(), Duration.ofSeconds(10));
            assertThat(retried).endsWith(":crash-once");
            assertThat(pidOf(retried)).isNotEqualTo(first);
            assertThat(pool.childrenStarted()).isEqualTo(2);
        }
    }

    @Test
    void childrenAreReplacedAfterMaxTasksPerProcess() throws Exception {
        try (var pool = pool(1, 3)) {
            List<Long> pids = new ArrayList<>();
            for (int i = 0; i < 10; i++) pids.add(pidOf(run(pool, i, "t" + i)));

            Map<Long, Long> tasksPerPid = pids.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
            assertThat(tasksPerPid).hasSize(4);
            assertThat(tasksPerPid.values()).allMatch(n -> n <= 3);
            for (int i = 0; i < 10; i++) {
                assertThat(pids.get(i)).as("task %d", i).isEqualTo(pids.get(i - i % 3));
            }
            // with room for one child, the next one started only after the retired one was gone
            for (long retired : List.of(pids.get(0), pids.get(3), pids.get(6))) {
                assertThat(CommandExecutorTest.alive(retired)).as("retired pid %d alive", retired).isFalse();
            }
            assertThat(pool.childrenStarted()).isEqualTo(4);
        }
    }

    @Test
    void anErrorAnswerFailsTheTaskAndKeepsTheChild() throws Exception {
        try (var pool = pool(1, 100)) {
            long pid = pidOf(run(pool, 1, "ok"));

            TaskFailure failure = catchThrowableOfType(TaskFailure.class, () -> run(pool, 2, "fail"));

            assertThat(failure.getMessage()).isEqualTo("cannot do fail");
            assertThat(failure.retryable()).isTrue();
            assertThat(pidOf(run(pool, 3, "ok"))).isEqualTo(pid);
        }
    }

    @Test
    void aChildThatOverrunsTheDeadlineIsKilledWithItsProcessTree() throws Exception {
        try (var pool = pool(1, 100)) {
            long pid = pidOf(run(pool, 1, "ok"));

            long start = System.nanoTime();
            TaskFailure failure = catchThrowableOfType(TaskFailure.class,
                    () -> run(pool, TaskMessage.first(2, "hang"), Duration.ofSeconds(1)));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(failure.getMessage()).startsWith("timed out after 1s; killed process pool child pid " + pid);
            assertThat(took).isBetween(Duration.ofMillis(900), Duration.ofSeconds(4));
            long sleeper = Long.parseLong(Files.readString(dir.resolve("hang.pid")).trim());
            assertThat(CommandExecutorTest.alive(pid)).as("child alive").isFalse();
            assertThat(CommandExecutorTest.alive(sleeper)).as("grandchild alive").isFalse();
            assertThat(pool.liveChildren()).isZero();
            assertThat(pidOf(run(pool, 3, "ok"))).isNotEqualTo(pid);
        }
    }

    @Test
    void anErrorAnswerAndATimeoutKeepTheStderrTheChildWroteForThatTask() throws Exception {
        try (var pool = pool(1, 100)) {
            TaskFailure first = catchThrowableOfType(TaskFailure.class, () -> run(pool, 1, "noisy-fail"));
            assertThat(first).hasMessage("cannot do noisy-fail; stderr: why 1 failed");

            // the same child: only what it wrote during task 2, not task 1's line
            TaskFailure second = catchThrowableOfType(TaskFailure.class, () -> run(pool, 2, "noisy-fail"));
            assertThat(second).hasMessage("cannot do noisy-fail; stderr: why 2 failed");

            TaskFailure timeout = catchThrowableOfType(TaskFailure.class,
                    () -> run(pool, TaskMessage.first(3, "noisy-hang"), Duration.ofSeconds(1)));
            assertThat(timeout.getMessage()).startsWith("timed out after 1s; killed process pool child pid ")
                    .endsWith("; stderr: stuck on 3");
        }
    }

    @Test
    void aChildThatBreaksTheProtocolIsKilled() throws Exception {
        try (var pool = pool(1, 100)) {
            long pid = pidOf(run(pool, 1, "ok"));
            TaskFailure notJson = catchThrowableOfType(TaskFailure.class, () -> run(pool, 2, "not-json"));
            assertThat(notJson.getMessage()).startsWith("process pool child pid " + pid + " broke the protocol: ")
                    .contains("this is not json");
            assertThat(CommandExecutorTest.alive(pid)).isFalse();

            long next = pidOf(run(pool, 3, "ok"));
            TaskFailure wrongId = catchThrowableOfType(TaskFailure.class, () -> run(pool, 4, "wrong-id"));
            assertThat(wrongId.getMessage())
                    .isEqualTo("process pool child pid " + next + " broke the protocol: answered id 5 to the request with id 4");
            assertThat(CommandExecutorTest.alive(next)).isFalse();
            assertThat(pool.liveChildren()).isZero();
        }
    }

    @Test
    void concurrentCallersShareAtMostMaxChildrenAndGetTheirOwnAnswers() throws Exception {
        int threads = 4;
        int tasksEach = 25;
        try (var pool = pool(2, 0)) {
            AtomicInteger mostLive = new AtomicInteger();
            Set<Long> pids = Collections.synchronizedSet(new HashSet<>());
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<Void>> callers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int caller = t;
                CompletableFuture<Void> done = new CompletableFuture<>();
                callers.add(done);
                Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < tasksEach; i++) {
                            // a slow first task makes the callers overlap, so a second child is needed
                            String input = (i == 0 ? "slow-" : "t-") + caller + "-" + i;
                            String output = run(pool, caller * 1000L + i, input);
                            assertThat(output).endsWith(":" + input);
                            pids.add(pidOf(output));
                            mostLive.accumulateAndGet(pool.liveChildren(), Math::max);
                        }
                        done.complete(null);
                    } catch (Throwable e) {
                        done.completeExceptionally(e);
                    }
                });
            }
            go.countDown();
            CompletableFuture.allOf(callers.toArray(CompletableFuture[]::new)).get(15, TimeUnit.SECONDS);

            assertThat(mostLive.get()).isBetween(1, 2);
            assertThat(pids).hasSize(2);
            assertThat(pool.childrenStarted()).isEqualTo(2);
        }
    }

    @Test
    void aMissingProgramIsAPermanentFailureAndFreesItsSlot() throws Exception {
        try (var pool = new ProcessPoolExecutor(List.of("/nonexistent/taskbatch-no-such-program"), 1, 0, null, Map.of(), "b")) {
            for (int attempt = 0; attempt < 2; attempt++) { // a leaked slot would make the second one wait and time out
                TaskFailure failure = catchThrowableOfType(TaskFailure.class,
                        () -> run(pool, TaskMessage.first(1, "x"), Duration.ofSeconds(2)));
                assertThat(failure.retryable()).isFalse();
                assertThat(failure.getMessage()).isEqualTo("cannot start /nonexistent/taskbatch-no-such-program: No such file or directory");
            }
            assertThat(pool.liveChildren()).isZero();
        }
    }

    @Test
    void closeStopsEveryChild() throws Exception {
        var pool = pool(2, 0);
        var a = inThread(pool, 1, "slow-a");
        var b = inThread(pool, 2, "slow-b");
        long pidA = pidOf(a.get(10, TimeUnit.SECONDS));
        long pidB = pidOf(b.get(10, TimeUnit.SECONDS));
        assertThat(pidA).isNotEqualTo(pidB);

        pool.close();

        assertThat(CommandExecutorTest.alive(pidA)).isFalse();
        assertThat(CommandExecutorTest.alive(pidB)).isFalse();
        assertThat(pool.liveChildren()).isZero();
        assertThat(catchThrowableOfType(TaskFailure.class, () -> run(pool, 3, "ok"))).hasMessage("process pool is closed");
    }

    @Test
    void closeAlsoStopsAChildThatIsRunningATask() throws Exception {
        var pool = pool(1, 0);
        long pid = pidOf(run(pool, 1, "ok"));
        var hanging = inThread(pool, 2, "hang");
        Path sleeperPid = dir.resolve("hang.pid");
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!Files.exists(sleeperPid) || !Files.readString(sleeperPid).endsWith("\n")) {
            assertThat(System.nanoTime() - waitUntil).as("task never started").isNegative();
            Thread.sleep(10);
        }

        pool.close();

        assertThat(CommandExecutorTest.alive(pid)).isFalse();
        assertThat(CommandExecutorTest.alive(Long.parseLong(Files.readString(sleeperPid).trim()))).isFalse();
        Throwable failure = catchThrowableOfType(ExecutionException.class, () -> hanging.get(5, TimeUnit.SECONDS)).getCause();
        assertThat(failure).isInstanceOf(TaskFailure.class)
                .hasMessage("process pool was closed while the task was running on child pid " + pid);
    }

    /** Runs a task on a thread of its own (the common pool may have a single thread on a small machine). */
    private static CompletableFuture<String> inThread(ProcessPoolExecutor pool, long id, String input) {
        CompletableFuture<String> result = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                result.complete(run(pool, id, input));
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }
}
