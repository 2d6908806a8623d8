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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A whole batch in this process: the master, one worker with {@code slots} slots, in-memory queues. */
public final class LocalRun {
    /** Tasks queued ahead of the slots: enough to keep them busy, small enough to stay constant in memory. */
    static final int QUEUE_CAPACITY = 8192;

    private LocalRun() {
    }

    public static BatchOutcome execute(BatchPlan plan, TaskSource source, TaskExecutor executor, int slots,
                                       ResultSink sink, ProgressListener listener, Duration progressInterval)
            throws IOException, InterruptedException {
        return execute(plan, source, executor, slots, sink, listener, progressInterval, Duration.ofMillis(200), master -> { });
    }

    /** What to do with the master before it runs (a redrive carries the previous results over). */
    @FunctionalInterface
    interface BeforeRun {
        void accept(Master master) throws IOException;
    }

    /**
     * As above; on SIGTERM or Ctrl-C the running tasks get {@code grace} to finish (then are interrupted, their
     * processes killed), what finished is stored, the rest is cancelled, and the summary is printed before the JVM
     * exits (130 after Ctrl-C, 143 after SIGTERM).
     */
    public static BatchOutcome execute(BatchPlan plan, TaskSource source, TaskExecutor executor, int slots,
                                       ResultSink sink, ProgressListener listener, Duration progressInterval,
                                       Duration grace, BeforeRun beforeRun) throws IOException, InterruptedException {
        try (InMemoryBroker broker = new InMemoryBroker(QUEUE_CAPACITY, plan.retry().maxAttempts(), plan.retry()::delayAfter);
             Worker worker = new Worker(new Worker.Settings(plan.id(), "local", slots, plan.retry(), plan.taskTimeout()),
                     executor, broker)) {
            worker.start();
            Master master = new Master(new Master.Settings(plan.id(), plan.maxFailedTasks(), progressInterval, listener));
            beforeRun.accept(master);
            CountDownLatch ended = new CountDownLatch(1);
            Thread onExit = Thread.ofPlatform().name("taskbatch-shutdown").unstarted(() -> {
                try {
                    // running tasks finish within the grace, or are interrupted (child processes killed with their
                    // trees); then the master stores what finished, cancels the rest and prints the summary
                    worker.stop(grace);
                    master.stop("stopped by a signal (SIGTERM or Ctrl-C)");
                    ended.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
                executor.close();
            });
            if (!WorkerCommand.addHook(onExit)) master.stop("stopped by a signal (SIGTERM or Ctrl-C)"); // came already
            try {
                BatchOutcome outcome;
                try {
                    outcome = master.run(source, broker, sink);
                } finally {
                    ended.countDown();
                }
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
