package io.taskbatch.worker;

import io.taskbatch.metrics.WorkerMetrics;
import io.taskbatch.metrics.WorkerMetrics.Outcome;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.queue.WorkerTransport.TaskDelivery;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Runs one delivered task: binds its {@link TaskContext}, calls the executor, and settles the
 * delivery with a result, a retry or (on shutdown) a release. A failing task never escapes as an
 * exception: a bad task never kills a worker.
 */
final class TaskRunner {
    private static final Logger LOG = Logger.getLogger(TaskRunner.class);

    private final String batch;
    private final String worker;
    private final TaskExecutor executor;
    private final RetryPolicy retry;
    private final Duration taskTimeout;
    private final WorkerMetrics metrics;

    TaskRunner(String batch, String worker, TaskExecutor executor, RetryPolicy retry, Duration taskTimeout,
               WorkerMetrics metrics) {
        this.batch = batch;
        this.worker = worker;
        this.executor = executor;
        this.retry = retry;
        this.taskTimeout = taskTimeout;
        this.metrics = metrics;
    }

    /**
     * Runs the task on the calling slot.
     *
     * @throws InterruptedException when the worker is stopping; the delivery was released first
     */
    void run(TaskDelivery delivery, Slot slot) throws InterruptedException {
        TaskMessage task = delivery.task();
        long start = System.nanoTime();
        long deadline = start + taskTimeout.toNanos();
        TaskContext context = new TaskContext(batch, task.id(), task.attempt(), deadline,
                task.headers().getOrDefault("traceId", batch + "/" + task.id()));
        // Bound around the whole attempt, settling included: every line logged about this task
        // (its failure, its retry, the transport's) carries its batch, id and attempt. A catch or
        // finally of the try-with-resources itself would run after the scope is closed.
        try (TaskContext.Scope ignored = context.bind()) {
            runBound(delivery, task, slot, start, deadline);
        }
    }

    private void runBound(TaskDelivery delivery, TaskMessage task, Slot slot, long start, long deadline)
            throws InterruptedException {
        String output = null;
        String stderr = null;
        String error = null;
        boolean retryable = true;
        boolean interrupted = false;
        LOG.debugf("task %d attempt %d started", task.id(), task.attempt());
        slot.begin(deadline);
        try {
            TaskExecutor.Output result = executor.run(task);
            output = result.text() == null ? "" : result.text();
            stderr = result.stderr();
        } catch (TaskFailure e) {
            error = e.getMessage();
            retryable = e.retryable();
        } catch (InterruptedException e) {
            interrupted = true;
        } catch (Throwable e) {
            error = describe(e);
            LOG.debugf(e, "task %d attempt %d threw", task.id(), task.attempt());
        } finally {
            boolean timedOut = slot.end();
            if (timedOut) {
                interrupted = false;
                output = null;
                // an executor that enforces the deadline itself may have failed first, saying more
                // (what it killed, the child's stderr): keep that
                String timeout = "timed out after " + CommandExecutor.describe(taskTimeout) + " (taskTimeout)";
                error = error == null ? timeout : error.startsWith("timed out") ? error : timeout + ": " + error;
            }
        }
        if (interrupted) {
            // not the watchdog: the worker is stopping; another worker will run it
            LOG.debugf("task %d attempt %d interrupted: the worker is stopping, the task goes back to the queue",
                    task.id(), task.attempt());
            delivery.release();
            metrics.attempt(Outcome.RELEASED, 0);
            throw new InterruptedException("stopping");
        }
        long nanos = System.nanoTime() - start;
        long durationMs = TimeUnit.NANOSECONDS.toMillis(nanos);
        if (error == null) {
            LOG.debugf("task %d attempt %d succeeded in %d ms", task.id(), task.attempt(), durationMs);
            delivery.complete(ResultMessage.succeeded(task, output, stderr, durationMs, worker));
            metrics.attempt(Outcome.SUCCEEDED, nanos);
        } else if (retryable && retry.mayRetryAfter(task.attempt())) {
            Duration delay = retry.delayAfter(task.attempt());
            LOG.debugf("task %d attempt %d failed, retrying in %s: %s", task.id(), task.attempt(), delay, error);
            delivery.retry(task.nextAttempt());
            metrics.attempt(Outcome.RETRIED, nanos);
        } else {
            LOG.debugf("task %d attempt %d failed for good: %s", task.id(), task.attempt(), error);
            delivery.complete(ResultMessage.failed(task, error, durationMs, worker));
            metrics.attempt(Outcome.FAILED, nanos);
        }
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
