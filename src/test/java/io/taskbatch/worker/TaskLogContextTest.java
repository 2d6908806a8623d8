package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.logging.json.runtime.JsonFormatter;
import io.taskbatch.TestBatches.CollectingSink;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.ItemsSource;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.queue.InMemoryBroker;
import io.taskbatch.queue.WorkerTransport;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;
import org.jboss.logmanager.ExtLogRecord;
import org.jboss.logmanager.formatters.PatternFormatter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The log lines a worker writes while it runs a task carry that task's batch, id and attempt, in
 * the console's text format (the pattern of application.properties) and in the JSON format of
 * quarkus-logging-json; and a slot thread carries nothing of one task into the next.
 */
class TaskLogContextTest {
    private static final String BATCH = "test/logs";
    private static final Pattern TASK_LINE = Pattern.compile("task (\\d+) attempt (\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<ExtLogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            ExtLogRecord ext = (ExtLogRecord) record;
            ext.copyAll(); // the MDC as it is now, on the logging thread (as a synchronous console handler sees it)
            records.add(ext);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private java.util.logging.Logger taskbatchLogger;
    private Level previousLevel;

    @BeforeEach
    void captureTaskbatchLogs() {
        assertThat(LogManager.getLogManager()).as("surefire runs with JBoss LogManager, as Quarkus does")
                .isInstanceOf(org.jboss.logmanager.LogManager.class);
        taskbatchLogger = java.util.logging.Logger.getLogger("io.taskbatch");
        previousLevel = taskbatchLogger.getLevel();
        taskbatchLogger.setLevel(Level.FINE); // DEBUG: the retry lines included
        taskbatchLogger.addHandler(capture);
    }

    @AfterEach
    void stopCapturing() {
        taskbatchLogger.removeHandler(capture);
        taskbatchLogger.setLevel(previousLevel);
    }

    /** Fails its first attempts (input: how many), logging a line of its own on each. */
    private static final class FlakyHandler implements TaskHandler {
        private static final Logger LOG = Logger.getLogger("io.taskbatch.test.Flaky");

        @Override
        public String name() {
            return "flaky";
        }

        @Override
        public String handle(String input) throws TaskFailure {
            TaskContext ctx = TaskContext.require();
            LOG.infof("handler: task %d attempt %d working on %s", ctx.taskId(), ctx.attempt(), input);
            MDC.put("handlerKey", "task-" + ctx.taskId()); // a task's own MDC must not outlive it
            if (ctx.attempt() <= Integer.parseInt(input)) throw new TaskFailure("flaky: attempt " + ctx.attempt() + " fails");
            return "ok on attempt " + ctx.attempt();
        }
    }

    private record Run(BatchOutcome outcome, CollectingSink sink) {
    }

    private Run runBatch(List<String> items, int slots, RetryPolicy retry, Function<InMemoryBroker, WorkerTransport> wrap)
            throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker(100, 10)) {
            CollectingSink sink = new CollectingSink();
            try (Worker worker = new Worker(new Worker.Settings(BATCH, "w", slots, retry, Duration.ofMinutes(1)),
                    new BuiltinExecutor(new FlakyHandler()), wrap.apply(broker))) {
                worker.start();
                BatchOutcome outcome = new Master(new Master.Settings(BATCH, 10, Duration.ofSeconds(1), ProgressListener.NONE))
                        .run(new ItemsSource(items), broker, sink);
                assertThat(worker.awaitTermination(Duration.ofSeconds(10))).isTrue();
                return new Run(outcome, sink);
            }
        }
    }

    /** The worker's own lines and the handler's: everything logged on a slot thread about a task. */
    private List<ExtLogRecord> taskLines() {
        List<ExtLogRecord> lines = new ArrayList<>();
        for (ExtLogRecord r : records) {
            if (r.getThreadName().startsWith("taskbatch-slot-") && TASK_LINE.matcher(r.getFormattedMessage()).find()) lines.add(r);
        }
        return lines;
    }

    @Test
    void everyLineOfAFailingRetriedTaskCarriesBatchTaskIdAndAttemptInTextAndJson() throws Exception {
        // task 0 fails twice and then succeeds; task 1 fails for good after 3 attempts
        Run run = runBatch(List.of("2", "9"), 2, new RetryPolicy(3, Duration.ofMillis(5), Duration.ofMillis(20)), b -> b);
        assertThat(run.outcome().progress().failed()).isEqualTo(1);
        assertThat(run.sink().byId()).hasSize(2);
        assertThat(run.sink().byId().get(0).attempts()).isEqualTo(3);

        List<ExtLogRecord> lines = taskLines();
        List<String> messages = lines.stream().map(ExtLogRecord::getFormattedMessage).toList();
        assertThat(messages).as("the handler's lines, the retry lines and the final failure")
                .contains("handler: task 0 attempt 1 working on 2", "handler: task 1 attempt 3 working on 9")
                .anyMatch(m -> m.startsWith("task 0 attempt 1 failed, retrying in"))
                .anyMatch(m -> m.startsWith("task 1 attempt 2 failed, retrying in"))
                .anyMatch(m -> m.startsWith("task 1 attempt 3 failed for good"))
                .anyMatch(m -> m.startsWith("task 0 attempt 3 succeeded"));

        PatternFormatter text = new PatternFormatter(consoleFormat());
        JsonFormatter json = new JsonFormatter();
        for (ExtLogRecord r : lines) {
            Matcher m = TASK_LINE.matcher(r.getFormattedMessage());
            assertThat(m.find()).isTrue();
            String id = m.group(1);
            String attempt = m.group(2);

            String line = text.format(r);
            assertThat(line).as("text line").contains(") " + BATCH + " " + id + " " + attempt + " " + r.getFormattedMessage());

            String object = json.format(r);
            assertThat(object.strip()).as("one JSON object per line").doesNotContain("\n");
            JsonNode node = JSON.readTree(object);
            assertThat(node.path("message").asText()).isEqualTo(r.getFormattedMessage());
            assertThat(node.path("mdc").path("batch").asText()).as(object).isEqualTo(BATCH);
            assertThat(node.path("mdc").path("taskId").asText()).as(object).isEqualTo(id);
            assertThat(node.path("mdc").path("attempt").asText()).as(object).isEqualTo(attempt);
        }
    }

    @Test
    void aSlotThreadReusedForTheNextTaskCarriesNoneOfThePreviousTasksMdc() throws Exception {
        List<Map<String, String>> betweenTasks = new CopyOnWriteArrayList<>();
        Logger slotLog = Logger.getLogger("io.taskbatch.test.Between");
        // one slot: the same thread runs every task; before each take it logs what its MDC holds
        Run run = runBatch(List.of("0", "1", "0", "0"), 1, new RetryPolicy(2, Duration.ZERO, Duration.ZERO), broker ->
                new BetweenTasks(broker, () -> {
                    slotLog.debug("between tasks");
                    betweenTasks.add(org.jboss.logmanager.MDC.copy());
                }));
        assertThat(run.outcome().succeeded()).isTrue();
        assertThat(betweenTasks).hasSizeGreaterThanOrEqualTo(5).allSatisfy(mdc -> assertThat(mdc).isEmpty());
        List<ExtLogRecord> between = records.stream().filter(r -> r.getMessage().equals("between tasks")).toList();
        assertThat(between).isNotEmpty().allSatisfy(r -> assertThat(r.getMdcCopy()).isEmpty());
        assertThat(between.stream().map(ExtLogRecord::getThreadName).distinct()).hasSize(1);
        for (ExtLogRecord r : taskLines()) {
            Matcher m = TASK_LINE.matcher(r.getFormattedMessage());
            assertThat(m.find()).isTrue();
            assertThat(r.getMdcCopy()).as(r.getFormattedMessage())
                    .containsEntry(TaskContext.MDC_TASK, m.group(1))
                    .containsEntry(TaskContext.MDC_ATTEMPT, m.group(2))
                    // a handler's own key stays within its task: never on the next task's first lines
                    .satisfies(mdc -> {
                        if (mdc.containsKey("handlerKey")) assertThat(mdc.get("handlerKey")).isEqualTo("task-" + m.group(1));
                    });
        }
    }

    private static String consoleFormat() throws IOException {
        Properties props = new Properties();
        try (InputStream in = TaskLogContextTest.class.getResourceAsStream("/application.properties")) {
            props.load(in);
        }
        String format = props.getProperty("quarkus.log.console.format");
        assertThat(format).contains("%X{batch}", "%X{taskId}", "%X{attempt}");
        return format;
    }
}
