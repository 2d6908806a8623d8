package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.logging.json.runtime.JsonFormatter;
import io.taskbatch.TestBatches.CollectingSink;
import io.taskbatch.master.ItemsSource;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.queue.InMemoryBroker;
import io.taskbatch.queue.ResultMessage;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.jboss.logmanager.ExtLogRecord;
import org.jboss.logmanager.formatters.PatternFormatter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A task's stderr reaches its failed result through the whole worker (slots, the watchdog, the
 * runner), for failures and for timeouts, with real child processes; a succeeded one's only with
 * {@code keepStderr}; and with {@code logStderr} the worker's log, tagged with the task.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TaskStderrTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TaskStderr KEEP = new TaskStderr(true, false);
    private static final TaskStderr LOG = new TaskStderr(false, true);
    /** A pool child that notes each request on stderr, waits for that to be read, then answers "ok". */
    private static final List<String> NOTING_CHILD = List.of("sh", "-c", """
            while read -r line; do
              echo "note: $line" >&2
              sleep 0.2
              id=$(printf '%s' "$line" | sed 's/^{"id":\\([0-9]*\\).*/\\1/')
              printf '{"id":%s,"output":"ok"}\\n' "$id"
            done""");

    private final List<ExtLogRecord> forwarded = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            ExtLogRecord ext = (ExtLogRecord) record;
            ext.copyAll(); // the MDC as it is on the logging thread
            forwarded.add(ext);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureForwardedStderr() {
        java.util.logging.Logger.getLogger(TaskStderr.LOG_CATEGORY).addHandler(capture);
    }

    @AfterEach
    void stopCapturing() {
        java.util.logging.Logger.getLogger(TaskStderr.LOG_CATEGORY).removeHandler(capture);
    }

    private static List<ResultMessage> runBatch(TaskExecutor executor, List<String> items, Duration taskTimeout) throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker(100, 10); executor) {
            CollectingSink sink = new CollectingSink();
            try (Worker worker = new Worker(new Worker.Settings("test/stderr", "w", 2, RetryPolicy.none(), taskTimeout),
                    executor, broker)) {
                worker.start();
                new Master(new Master.Settings("test/stderr", 10, Duration.ofSeconds(1), ProgressListener.NONE))
                        .run(new ItemsSource(items), broker, sink);
                assertThat(worker.awaitTermination(Duration.ofSeconds(10))).isTrue();
            }
            return sink.byId();
        }
    }

    @Test
    void aCommandsStderrTailIsInTheResultOfAFailureAndOfATimeout() throws Exception {
        // input "fail": exit 3; anything else: hang past the task timeout
        var executor = new CommandExecutor(List.of("sh", "-c",
                "read -r what; echo \"oops ($what)\" >&2; [ \"$what\" = fail ] && exit 3; exec sleep 30"), null, Map.of());

        List<ResultMessage> results = runBatch(executor, List.of("fail", "hang"), Duration.ofSeconds(1));

        assertThat(results.get(0).status()).isEqualTo(ResultMessage.Status.FAILED);
        assertThat(results.get(0).error()).isEqualTo("exit code 3: oops (fail)");
        assertThat(results.get(1).status()).isEqualTo(ResultMessage.Status.FAILED);
        assertThat(results.get(1).error()).startsWith("timed out after 1s").endsWith("stderr: oops (hang)");
    }

    @Test
    void aProcessPoolChildsStderrForTheTaskIsInTheResultOfATimeout() throws Exception {
        var executor = new ProcessPoolExecutor(List.of("sh", "-c",
                "while read -r line; do echo \"stuck: $line\" >&2; sleep 30; done"), 2, 100, null, Map.of(), "test/stderr");

        List<ResultMessage> results = runBatch(executor, List.of("a"), Duration.ofSeconds(1));

        assertThat(results.get(0).status()).isEqualTo(ResultMessage.Status.FAILED);
        assertThat(results.get(0).error()).startsWith("timed out after 1s")
                .endsWith("stderr: stuck: {\"id\":0,\"attempt\":1,\"input\":\"a\"}");
    }

    @Test
    void aSucceededCommandKeepsItsStderrTailOnlyWithKeepStderr() throws Exception {
        // 25 lines: the result keeps the last 20, as a failure's error would
        List<String> argv = List.of("sh", "-c", "read -r x; for i in $(seq 1 25); do echo \"$x line $i\" >&2; done; echo \"ok $x\"");

        List<ResultMessage> kept = runBatch(new CommandExecutor(argv, null, Map.of(), KEEP), List.of("a"), Duration.ofSeconds(10));
        List<ResultMessage> plain = runBatch(new CommandExecutor(argv, null, Map.of()), List.of("a"), Duration.ofSeconds(10));

        assertThat(kept.get(0).status()).isEqualTo(ResultMessage.Status.SUCCEEDED);
        assertThat(kept.get(0).output()).isEqualTo("ok a");
        assertThat(kept.get(0).stderr()).startsWith("a line 6\n").endsWith("\na line 25");
        assertThat(kept.get(0).stderr().lines()).hasSize(CommandExecutor.STDERR_TAIL_LINES);
        assertThat(kept.get(0).error()).as("a success has no error").isNull();
        assertThat(plain.get(0).status()).isEqualTo(ResultMessage.Status.SUCCEEDED);
        assertThat(plain.get(0).output()).isEqualTo("ok a");
        assertThat(plain.get(0).stderr()).as("successes keep no stderr unless asked").isNull();
        assertThat(plain.get(0).error()).isNull();
        assertThat(forwarded).as("nothing logged without logStderr").isEmpty();
    }

    @Test
    void aSucceededProcessPoolTaskKeepsWhatTheChildWroteDuringThatTaskOnlyWithKeepStderr() throws Exception {
        var keeping = new ProcessPoolExecutor(NOTING_CHILD, 1, 100, null, Map.of(), "test/stderr", KEEP);
        var plain = new ProcessPoolExecutor(NOTING_CHILD, 1, 100, null, Map.of(), "test/stderr");

        List<ResultMessage> kept = runBatch(keeping, List.of("a", "b"), Duration.ofSeconds(10));
        List<ResultMessage> notKept = runBatch(plain, List.of("a", "b"), Duration.ofSeconds(10));

        // one child served both tasks: each result has its own task's line only
        assertThat(kept).extracting(ResultMessage::output).containsExactly("ok", "ok");
        assertThat(kept.get(0).stderr()).isEqualTo("note: {\"id\":0,\"attempt\":1,\"input\":\"a\"}");
        assertThat(kept.get(1).stderr()).isEqualTo("note: {\"id\":1,\"attempt\":1,\"input\":\"b\"}");
        assertThat(notKept).extracting(ResultMessage::output).containsExactly("ok", "ok");
        assertThat(notKept).extracting(ResultMessage::stderr).containsOnlyNulls();
    }

    @Test
    void forwardedCommandStderrIsOneInfoLinePerLineTaggedWithTheTaskAndCapped() throws Exception {
        // input N: N lines of stderr, then success; "fail": one line, exit 3
        var executor = new CommandExecutor(List.of("sh", "-c",
                "read -r x; if [ \"$x\" = fail ]; then echo 'about to fail' >&2; exit 3; fi;"
                        + " for i in $(seq 1 $x); do echo \"line $i of $x\" >&2; done; echo ok"), null, Map.of(), LOG);

        List<ResultMessage> results = runBatch(executor, List.of("2", "fail", "50"), Duration.ofSeconds(10));

        assertThat(results).extracting(ResultMessage::status).containsExactly(ResultMessage.Status.SUCCEEDED,
                ResultMessage.Status.FAILED, ResultMessage.Status.SUCCEEDED);
        assertThat(results.get(0).error()).as("logging keeps nothing in the result").isNull();
        assertThat(linesOf(0)).containsExactly("line 1 of 2", "line 2 of 2");
        assertThat(linesOf(1)).containsExactly("about to fail");
        List<String> capped = linesOf(2);
        assertThat(capped).as("never more than the tail per attempt, and a line that says so")
                .hasSize(CommandExecutor.STDERR_TAIL_LINES + 1);
        assertThat(capped.get(0)).startsWith("(earlier stderr lines not logged");
        assertThat(capped.subList(1, capped.size())).startsWith("line 31 of 50").endsWith("line 50 of 50");
        assertTaggedInTextAndJson();
    }

    @Test
    void forwardedProcessPoolStderrIsWhatTheChildWroteDuringThatTask() throws Exception {
        var executor = new ProcessPoolExecutor(NOTING_CHILD, 1, 100, null, Map.of(), "test/stderr", LOG);

        List<ResultMessage> results = runBatch(executor, List.of("a", "b"), Duration.ofSeconds(10));

        assertThat(results).extracting(ResultMessage::error).containsOnlyNulls();
        assertThat(linesOf(0)).containsExactly("note: {\"id\":0,\"attempt\":1,\"input\":\"a\"}");
        assertThat(linesOf(1)).containsExactly("note: {\"id\":1,\"attempt\":1,\"input\":\"b\"}");
        assertTaggedInTextAndJson();
    }

    /** The forwarded lines of task {@code id}, in order. */
    private List<String> linesOf(long id) {
        return forwarded.stream().filter(r -> String.valueOf(id).equals(r.getMdc(TaskContext.MDC_TASK)))
                .map(ExtLogRecord::getFormattedMessage).toList();
    }

    /** Every forwarded line is INFO in its category, with the task's batch, id and attempt in the text and the JSON format. */
    private void assertTaggedInTextAndJson() throws Exception {
        assertThat(forwarded).isNotEmpty();
        PatternFormatter text = new PatternFormatter(consoleFormat());
        JsonFormatter json = new JsonFormatter();
        for (ExtLogRecord r : forwarded) {
            assertThat(r.getLevel().getName()).isEqualTo("INFO");
            assertThat(r.getLoggerName()).isEqualTo(TaskStderr.LOG_CATEGORY);
            String id = r.getMdc(TaskContext.MDC_TASK);
            assertThat(id).as(r.getFormattedMessage()).isNotNull();
            assertThat(text.format(r)).contains(") test/stderr " + id + " 1 " + r.getFormattedMessage());
            JsonNode node = JSON.readTree(json.format(r));
            assertThat(node.path("message").asText()).isEqualTo(r.getFormattedMessage());
            assertThat(node.path("loggerName").asText()).isEqualTo(TaskStderr.LOG_CATEGORY);
            assertThat(node.path("mdc").path("batch").asText()).isEqualTo("test/stderr");
            assertThat(node.path("mdc").path("taskId").asText()).isEqualTo(id);
            assertThat(node.path("mdc").path("attempt").asText()).isEqualTo("1");
        }
    }

    private static String consoleFormat() throws Exception {
        Properties props = new Properties();
        try (InputStream in = TaskStderrTest.class.getResourceAsStream("/application.properties")) {
            props.load(in);
        }
        return props.getProperty("quarkus.log.console.format");
    }
}
