package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.TestBatches.CollectingSink;
import io.taskbatch.master.ItemsSource;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.queue.InMemoryBroker;
import io.taskbatch.queue.ResultMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A task's stderr reaches its failed result through the whole worker (slots, the watchdog, the
 * runner), for failures and for timeouts, with real child processes.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TaskStderrTest {

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
}
