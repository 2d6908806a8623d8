package io.taskbatch.cli;

import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.ResultSink;
import io.taskbatch.master.TaskSource;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.queue.InMemoryBroker;
import io.taskbatch.worker.TaskExecutor;
import io.taskbatch.worker.Worker;
import java.io.IOException;
import java.time.Duration;

/** A whole batch in this process: the master, one worker with {@code slots} slots, in-memory queues. */
public final class LocalRun {
    /** Tasks queued ahead of the slots: enough to keep them busy, small enough to stay constant in memory. */
    static final int QUEUE_CAPACITY = 8192;

    private LocalRun() {
    }

    public static BatchOutcome execute(BatchPlan plan, TaskSource source, TaskExecutor executor, int slots,
                                       ResultSink sink, ProgressListener listener, Duration progressInterval)
            throws IOException, InterruptedException {
        try (InMemoryBroker broker = new InMemoryBroker(QUEUE_CAPACITY, plan.retry().maxAttempts());
             Worker worker = new Worker(new Worker.Settings(plan.id(), "local", slots, plan.retry(), plan.taskTimeout()),
                     executor, broker)) {
            worker.start();
            // Ctrl-C: interrupt the slots so that running child processes are killed with their trees
            Thread onExit = Thread.ofPlatform().name("taskbatch-shutdown").unstarted(() -> {
                try {
                    worker.stop(Duration.ofMillis(200));
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
                executor.close();
            });
            Runtime.getRuntime().addShutdownHook(onExit);
            try {
                Master master = new Master(new Master.Settings(plan.id(), plan.maxFailedTasks(), progressInterval, listener));
                BatchOutcome outcome = master.run(source, broker, sink);
                // the master said finish: running tasks of a stopped batch get a moment, then are interrupted
                worker.stop(Duration.ofSeconds(outcome.succeeded() ? 30 : 2));
                return outcome;
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(onExit);
                } catch (IllegalStateException alreadyShuttingDown) {
                    // the hook is running: it cleans up
                }
            }
        }
    }
}
