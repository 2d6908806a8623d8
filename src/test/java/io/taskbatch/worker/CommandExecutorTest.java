package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class CommandExecutorTest {

    @TempDir
    Path dir;

    private static String run(CommandExecutor executor, TaskMessage task, Duration timeout) throws Exception {
        try (var scope = new TaskContext("b", task.id(), task.attempt(), System.nanoTime() + timeout.toNanos(), "t").bind()) {
            return executor.execute(task);
        }
    }

    private static String run(CommandExecutor executor, String input) throws Exception {
        return run(executor, TaskMessage.first(7, input), Duration.ofSeconds(10));
    }

    private static CommandExecutor sh(String script) {
        return new CommandExecutor(List.of("sh", "-c", script), null, Map.of());
    }

    @Test
    void stdoutIsTheOutputAndTheChildGetsInputAndTaskEnvironment() throws Exception {
        var executor = new CommandExecutor(List.of("sh", "-c",
                "read -r line; printf '%s|%s|%s|%s|%s|%s\\n\\n' \"$line\" \"$TASK_INPUT\" \"$TASK_ID\" \"$TASK_ATTEMPT\" \"$TASK_BATCH\" \"$EXTRA\""),
                null, Map.of("EXTRA", "from-config"));

        String output = run(executor, new TaskMessage(42, 3, "hello world", Map.of()), Duration.ofSeconds(10));

        // exactly one trailing newline is removed
        assertThat(output).isEqualTo("hello world|hello world|42|3|b|from-config\n");
    }

    @Test
    void runsInTheWorkDirectory() throws Exception {
        var executor = new CommandExecutor(List.of("pwd", "-P"), dir, Map.of());

        assertThat(run(executor, "x")).isEqualTo(dir.toRealPath().toString());
    }

    @Test
    void nonZeroExitFailsWithExitCodeAndTheEndOfStderr() {
        var executor = sh("echo some output; head -c 10000 /dev/zero | tr '\\0' a >&2; echo >&2; echo 'the real reason' >&2; exit 3");

        TaskFailure failure = catchThrowableOfType(TaskFailure.class, () -> run(executor, "x"));

        assertThat(failure.retryable()).isTrue();
        assertThat(failure.getMessage()).startsWith("exit code 3: ").endsWith("the real reason");
        // the tail keeps the last 4 KiB, not the first
        assertThat(failure.getMessage().length()).isBetween(4000, "exit code 3: ".length() + CommandExecutor.STDERR_TAIL_BYTES);
    }

    @Test
    void aFailureKeepsTheLastLinesOfStderr() {
        assertThat(catchThrowableOfType(TaskFailure.class, () -> run(sh("echo oops >&2; exit 3"), "x")))
                .hasMessage("exit code 3: oops");

        TaskFailure failure = catchThrowableOfType(TaskFailure.class,
                () -> run(sh("for i in $(seq 1 30); do echo \"line $i\" >&2; done; echo oops >&2; exit 4"), "x"));

        String[] kept = failure.getMessage().substring("exit code 4: ".length()).split("\n");
        assertThat(kept).hasSize(CommandExecutor.STDERR_TAIL_LINES).startsWith("line 12").endsWith("line 30", "oops");
    }

    @Test
    void aTimeoutKeepsTheTailOfStderr() {
        TaskFailure failure = catchThrowableOfType(TaskFailure.class,
                () -> run(sh("echo 'started on it' >&2; echo 'still going' >&2; exec sleep 30"), TaskMessage.first(1, "x"),
                        Duration.ofSeconds(1)));

        assertThat(failure.getMessage()).startsWith("timed out after 1s; killed process tree")
                .endsWith("; stderr: started on it\nstill going");
        // nothing on stderr, nothing added
        assertThat(catchThrowableOfType(TaskFailure.class, () -> run(sh("exec sleep 30"), TaskMessage.first(2, "x"),
                Duration.ofMillis(300)))).message().doesNotContain("stderr");
    }

    @Test
    void theStderrTailIsTheLastLinesWithoutSurroundingBlankSpace() {
        assertThat(CommandExecutor.stderrTail("")).isEmpty();
        assertThat(CommandExecutor.stderrTail("\n  one\n\n")).isEqualTo("one");
        String many = String.join("\n", java.util.stream.IntStream.rangeClosed(1, 25).mapToObj(i -> "l" + i).toList());
        assertThat(CommandExecutor.stderrTail(many)).startsWith("l6\n").endsWith("\nl25").hasLineCount(20);
        assertThat(CommandExecutor.withStderr(" \n")).isEmpty();
        assertThat(CommandExecutor.withStderr("why\n")).isEqualTo("; stderr: why");
    }

    @Test
    void stdoutBeyondTheCapIsCutWithAMarker() throws Exception {
        var executor = sh("head -c 3000000 /dev/zero | tr '\\0' x; echo 'child finished' >&2; exit 0");

        String output = run(executor, "x");

        assertThat(output).endsWith(CommandExecutor.TRUNCATION_MARKER);
        String kept = output.substring(0, output.length() - CommandExecutor.TRUNCATION_MARKER.length());
        assertThat(kept).hasSize(CommandExecutor.STDOUT_CAP_BYTES).matches("x+");
    }

    @Test
    void largeInputReachesAReadingChildAndDoesNotHangOneThatNeverReads() throws Exception {
        String input = "y".repeat(1_000_000);

        assertThat(run(sh("echo ignored"), input)).isEqualTo("ignored");
        assertThat(run(sh("wc -c"), input).trim()).isEqualTo("1000001");
        // TASK_INPUT would exceed what Linux allows for one environment string: stdin only
        assertThat(run(sh("echo \"${TASK_INPUT-unset}\""), input)).isEqualTo("unset");
    }

    @Test
    void timeoutKillsTheWholeProcessTree() throws Exception {
        var executor = new CommandExecutor(List.of("sh", "-c", "echo $$ > parent.pid; sleep 300 & echo $! > child.pid; sleep 300"), dir, Map.of());

        long start = System.nanoTime();
        TaskFailure failure = catchThrowableOfType(TaskFailure.class, () -> run(executor, TaskMessage.first(1, "x"), Duration.ofSeconds(1)));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(failure.getMessage()).startsWith("timed out after 1s; killed process tree");
        assertThat(took).isBetween(Duration.ofMillis(900), Duration.ofSeconds(4));
        long parent = Long.parseLong(Files.readString(dir.resolve("parent.pid")).trim());
        long grandchild = Long.parseLong(Files.readString(dir.resolve("child.pid")).trim());
        assertThat(alive(parent)).as("pid %d alive", parent).isFalse();
        assertThat(alive(grandchild)).as("pid %d alive", grandchild).isFalse();
    }

    @Test
    void interruptKillsTheProcessAndIsRethrown() throws Exception {
        var executor = new CommandExecutor(List.of("sh", "-c", "echo $$ > parent.pid; exec sleep 300"), dir, Map.of());
        CompletableFuture<Thread> runner = new CompletableFuture<>();
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            runner.complete(Thread.currentThread());
            try {
                run(executor, "x");
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        Path pidFile = dir.resolve("parent.pid");
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!Files.exists(pidFile) || !Files.readString(pidFile).endsWith("\n")) {
            assertThat(System.nanoTime() - waitUntil).as("child never started").isNegative();
            Thread.sleep(10);
        }
        long pid = Long.parseLong(Files.readString(pidFile).trim());

        runner.get().interrupt();

        assertThat(outcome.get(5, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
        assertThat(alive(pid)).isFalse();
    }

    @Test
    void inputIsNeverInterpretedByAShell() throws Exception {
        var executor = new CommandExecutor(List.of("sh", "-c", "cat >/dev/null; echo \"$TASK_INPUT\""), dir, Map.of());
        List<String> inputs = List.of("; touch x", "$(touch x)", "`touch x`", "x && touch x", "| touch x", "'; touch x; '");

        for (String input : inputs) {
            assertThat(run(executor, input)).isEqualTo(input);
        }

        assertThat(filesNamedX()).isEmpty();
        // the check above can see a file x when one is created
        run(new CommandExecutor(List.of("touch", "x"), dir, Map.of()), "");
        assertThat(filesNamedX()).hasSize(1);
    }

    @Test
    void aMissingProgramIsAPermanentFailure() {
        var executor = new CommandExecutor(List.of("/nonexistent/taskbatch-no-such-program", "--flag"), null, Map.of());

        TaskFailure failure = catchThrowableOfType(TaskFailure.class, () -> run(executor, "x"));

        assertThat(failure.retryable()).isFalse();
        assertThat(failure.getMessage()).isEqualTo("cannot start /nonexistent/taskbatch-no-such-program: No such file or directory");
    }

    @Test
    void aMissingWorkDirectoryIsAPermanentFailure() {
        var executor = new CommandExecutor(List.of("true"), dir.resolve("missing"), Map.of());

        TaskFailure failure = catchThrowableOfType(TaskFailure.class, () -> run(executor, "x"));

        assertThat(failure.retryable()).isFalse();
        assertThat(failure.getMessage()).isEqualTo("cannot start true: working directory " + dir.resolve("missing") + " does not exist");
    }

    private List<Path> filesNamedX() throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.getFileName().toString().equals("x")).toList();
        }
    }

    /** Whether the process exists and is not a zombie (an orphan's zombie waits for PID 1, which may be slow to reap it). */
    static boolean alive(long pid) {
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) return false;
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false; // gone since
        }
    }
}
