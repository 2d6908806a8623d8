package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.TestBatches.CollectingSink;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.RangeSource;
import io.taskbatch.queue.InMemoryBroker;
import io.taskbatch.queue.WorkerTransport;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.Test;

/** Thousands of tasks on three pooled threads: each sees its own context, none carries it on. */
class ContextLeakTest {

    @Test
    void everyTaskSeesItsOwnContextAndNoThreadCarriesOneBetweenTasks() throws Exception {
        int tasks = 5_000;
        AtomicInteger wrongContext = new AtomicInteger();
        AtomicInteger leaked = new AtomicInteger();
        AtomicInteger checkedBetweenTasks = new AtomicInteger();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        TaskHandler probe = new TaskHandler() {
            @Override
            public String name() {
                return "probe";
            }

            @Override
            public String handle(String input) {
                // the range starts at 0, so a task's input is its id
                TaskContext ctx = TaskContext.require();
                if (ctx.taskId() != Long.parseLong(input) || !input.equals(MDC.get(TaskContext.MDC_TASK))
                        || !"test/leak".equals(ctx.batch())) {
                    wrongContext.incrementAndGet();
                }
                threads.add(Thread.currentThread().getName());
                return input;
            }
        };
        try (InMemoryBroker broker = new InMemoryBroker(1000, 3)) {
            // every take() happens on a slot thread between two tasks: nothing may be bound there
            WorkerTransport checking = new BetweenTasks(broker, () -> {
                checkedBetweenTasks.incrementAndGet();
                if (TaskContext.current() != null || MDC.get(TaskContext.MDC_TASK) != null
                        || MDC.get(TaskContext.MDC_BATCH) != null) {
                    leaked.incrementAndGet();
                }
            });
            CollectingSink sink = new CollectingSink();
            RetryPolicy retry = RetryPolicy.none();
            try (Worker worker = new Worker(new Worker.Settings("test/leak", "w", 3, retry, Duration.ofMinutes(1)),
                    new BuiltinExecutor(probe), checking)) {
                worker.start();
                BatchOutcome outcome = new Master(new Master.Settings("test/leak", 0, Duration.ofSeconds(1),
                        ProgressListener.NONE)).run(new RangeSource(0, tasks - 1, 1), broker, sink);
                assertThat(outcome.succeeded()).isTrue();
                assertThat(worker.awaitTermination(Duration.ofSeconds(10))).isTrue();
            }
            assertThat(sink.byId()).hasSize(tasks);
        }
        assertThat(wrongContext.get()).isZero();
        assertThat(leaked.get()).isZero();
        assertThat(checkedBetweenTasks.get()).isGreaterThanOrEqualTo(tasks);
        assertThat(threads).as("a small pool of reused threads ran them all").isNotEmpty().hasSizeLessThanOrEqualTo(3);
    }
}
