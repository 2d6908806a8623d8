package io.taskbatch.master;

import io.taskbatch.queue.MasterTransport;
import io.taskbatch.queue.MasterTransport.ResultDelivery;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The master of one batch: streams the source into the task queue on its own thread, and on the
 * calling thread collects results, counting each task exactly once (the {@link ResultLedger}),
 * storing each result before acknowledging it, until every task has its result or the failure
 * policy stops the batch. Then it tells the workers the batch is over. A position of the source that cannot be
 * read (see {@link TaskSource.Entry}) is never published: the publisher hands its failed result to the collecting
 * thread, the one that writes the sink, which stores and counts it as any other.
 */
public final class Master {
    private static final Logger LOG = Logger.getLogger(Master.class);
    private static final int RESULT_BATCH = 1024;
    private static final int REJECTED_LOGGED = 10;
    private static final Duration RESULT_POLL = Duration.ofMillis(100);
    /** Tasks published but not finished, at most: bounds the queue's depth on the broker too. */
    static final long MAX_IN_FLIGHT = 100_000;

    private final Settings settings;
    private final BatchCounters counters = new BatchCounters();
    private final ResultLedger ledger = new ResultLedger();
    /** Results of unreadable positions, from the publisher to the collecting thread. */
    private final ConcurrentLinkedQueue<ResultMessage> unreadable = new ConcurrentLinkedQueue<>();
    private volatile Throwable publishError;
    private volatile String stopReason;
    private long resumeFrom;
    private long total = -1;
    private long rejectedLogged;

    /**
     * @param maxFailedTasks   the batch fails once more tasks than this have failed for good
     * @param progressInterval how often the listener hears of progress
     * @param stallLimit       once every task is published, no result came for this long and no task waits in the
     *                         transport, the tasks without a result are published again (see {@link #reissue}); null:
     *                         never. It must exceed the longest a live worker may hold a task before it answers
     */
    public record Settings(String batch, long maxFailedTasks, Duration progressInterval, ProgressListener listener,
                           Duration stallLimit) {
        public Settings(String batch, long maxFailedTasks, Duration progressInterval, ProgressListener listener) {
            this(batch, maxFailedTasks, progressInterval, listener, null);
        }
    }

    public Master(Settings settings) {
        this.settings = settings;
    }

    /**
     * Continues a batch a previous master began: {@code stored} are the results it already stored
     * (they are not counted again), and the first {@code confirmedPrefix} tasks are known to be in
     * the queue or done (they are not published again). Call before {@link #run}.
     */
    public void resume(Iterable<ResultMessage> stored, long confirmedPrefix) {
        for (ResultMessage result : stored) {
            if (ledger.record(result.id())) counters.record(result);
        }
        resumeFrom = confirmedPrefix;
        counters.published(confirmedPrefix);
    }

    /**
     * Ends the batch soon (SIGTERM, Ctrl-C): the results that already arrived are stored, then each task without
     * one is cancelled with {@code reason}, the workers are told the batch is over and {@link #run} returns.
     */
    public void stop(String reason) {
        stopReason = reason;
    }

    /** The batch's counts now (for metrics). */
    public Progress progress() {
        return counters.snapshot();
    }

    /** Tasks recorded as done so far (for a checkpoint, or tests). */
    public long doneCount() {
        return counters.snapshot().done();
    }

    public BatchOutcome run(TaskSource source, MasterTransport transport, ResultSink sink)
            throws InterruptedException, IOException {
        try {
            total = source.count();
            counters.expectTotal(total);
        } catch (IOException | UncheckedIOException e) {
            BatchOutcome outcome = new BatchOutcome(false, unreadable(source, e), counters.snapshot());
            transport.finish();
            settings.listener().onFinish(outcome);
            return outcome;
        }
        // tasks with a result already (a resumed master's stored ones, or those a redrive keeps) are not published
        ResultLedger stored = ledger.copy();
        Thread publisher = Thread.ofPlatform().name("taskbatch-publisher").daemon()
                .start(() -> publish(source, transport, stored));
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("taskbatch-progress").daemon().unstarted(r));
        long interval = settings.progressInterval().toMillis();
        ticker.scheduleAtFixedRate(() -> settings.listener().onProgress(counters.snapshot()), interval, interval,
                TimeUnit.MILLISECONDS);
        BatchOutcome outcome;
        try {
            outcome = collect(source, transport, sink);
        } finally {
            publisher.interrupt();
            ticker.shutdownNow();
            publisher.join(TimeUnit.SECONDS.toMillis(10));
        }
        if (!outcome.succeeded()) outcome = cancelRest(source, sink, outcome);
        // only a decided batch is over for the workers: a master that died of an error (or was
        // stopped) leaves the queues as they are, for a restarted master to resume
        transport.finish();
        settings.listener().onProgress(outcome.progress());
        settings.listener().onFinish(outcome);
        return outcome;
    }

    /**
     * Publishes the tasks from {@link #resumeFrom} on, but none that has a result in {@code stored} (a resumed master's,
     * or those a redrive keeps). The unreadable positions before it are handed to the collecting thread again, as the
     * checkpoint may have passed one whose result was not stored yet; the ledger drops those that were. All count as
     * published: the checkpoint's prefix includes them.
     */
    private void publish(TaskSource source, MasterTransport transport, ResultLedger stored) {
        long[] next = {0};
        try (Stream<TaskSource.Entry> entries = source.entries()) {
            entries.forEach(entry -> {
                long id = next[0]++;
                if (entry.error() != null) {
                    unreadable.add(ResultMessage.unreadable(id, entry.error()));
                    if (id >= resumeFrom) counters.published(1);
                    return;
                }
                if (id < resumeFrom) return;
                if (!stored.contains(id)) {
                    try {
                        if ((id & 255) == 0) awaitRoom();
                        transport.publish(TaskMessage.first(id, entry.input()));
                    } catch (InterruptedException e) {
                        throw new Stopped();
                    }
                }
                counters.published(1);
            });
            transport.awaitPublished();
            counters.publishingDone();
            LOG.debugf("published %d tasks from %s", next[0], source.description());
        } catch (Stopped | InterruptedException e) {
            LOG.debug("publishing stopped");
        } catch (IOException | RuntimeException e) {
            publishError = e;
        }
    }

    /**
     * The batch stopped before every task had its result: each task without one gets a {@code cancelled} line, with
     * its input when the source can still be read, so that every id of the batch is in the results exactly once and
     * a task that never ran is told apart from a lost one.
     */
    private BatchOutcome cancelRest(TaskSource source, ResultSink sink, BatchOutcome stopped) throws IOException {
        storeUnreadable(sink);
        String reason = "cancelled: " + stopped.reason();
        long id = 0;
        try (Stream<TaskSource.Entry> entries = source.entries()) {
            for (var it = entries.iterator(); id < total && it.hasNext(); id++) cancelIfOpen(id, it.next(), reason, sink);
        } catch (UncheckedIOException | IOException e) {
            LOG.debugf("the source cannot be read again (%s): cancelled tasks get no input", e.getMessage());
        }
        for (; id < total; id++) cancelIfOpen(id, TaskSource.Entry.of(null), reason, sink); // the source ended early or broke
        sink.flush();
        return new BatchOutcome(false, stopped.reason(), counters.snapshot());
    }

    /** An unreadable position the publisher had not reached yet gets its failed result, not a cancelled one. */
    private void cancelIfOpen(long id, TaskSource.Entry entry, String reason, ResultSink sink) throws IOException {
        if (!ledger.record(id)) return;
        ResultMessage last = entry.error() != null ? ResultMessage.unreadable(id, entry.error())
                : ResultMessage.cancelled(id, entry.input(), reason);
        sink.write(last);
        counters.record(last);
    }

    /** Stores and counts the results the publisher handed over for unreadable positions; true when there were any. */
    private boolean storeUnreadable(ResultSink sink) throws IOException {
        boolean any = false;
        for (ResultMessage result; (result = unreadable.poll()) != null; ) {
            any = true;
            if (!ledger.record(result.id())) continue; // stored by a master before this one
            sink.write(result);
            counters.record(result);
        }
        return any;
    }

    private void awaitRoom() throws InterruptedException {
        while (counters.inFlight() >= MAX_IN_FLIGHT) {
            Thread.sleep(10);
        }
    }

    /** Thrown out of the publishing loop when the batch stops early. */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }

    private static String unreadable(TaskSource source, Throwable error) {
        Throwable cause = error instanceof UncheckedIOException u ? u.getCause() : error;
        return "reading tasks from " + source.description() + " failed: " + cause.getMessage();
    }

    /**
     * Why {@code result} cannot be one of this batch's (a forged or stray message on its results queue), or null.
     * Ids are the tasks' positions, 0 to total - 1; anything else would count a task that does not exist in place
     * of one that does, or grow the ledger without bound.
     */
    private String foreign(ResultMessage result) {
        if (result.id() < 0 || result.id() >= total) {
            return "id " + result.id() + " is not one of the batch's " + total + " tasks (0 to " + (total - 1) + ")";
        }
        if (result.status() == null) return "no status";
        if (result.status() == ResultMessage.Status.CANCELLED) return "status cancelled, which only the master gives";
        if (result.attempts() < 1) return "attempts " + result.attempts();
        return null;
    }

    private BatchOutcome collect(TaskSource source, MasterTransport transport, ResultSink sink)
            throws InterruptedException, IOException {
        long lastResult = System.nanoTime();
        while (true) {
            List<ResultDelivery> deliveries = transport.pollResults(RESULT_BATCH, RESULT_POLL);
            if (!deliveries.isEmpty()) lastResult = System.nanoTime();
            for (ResultDelivery delivery : deliveries) {
                ResultMessage result = delivery.result();
                String foreign = foreign(result);
                if (foreign != null) {
                    counters.rejected();
                    if (rejectedLogged++ < REJECTED_LOGGED) {
                        LOG.warnf("rejected a result that is not of this batch, never counted (%s): task %d from worker %s%s",
                                foreign, result.id(), result.worker(),
                                rejectedLogged == REJECTED_LOGGED ? "; further rejections are counted, not logged" : "");
                    }
                } else if (ledger.record(result.id())) {
                    sink.write(result);
                    counters.record(result);
                } else {
                    counters.duplicate();
                    LOG.debugf("dropped a second result for task %d", result.id());
                }
            }
            boolean unreadableStored = storeUnreadable(sink);
            if (!deliveries.isEmpty() || unreadableStored) {
                sink.flush();
                if (!deliveries.isEmpty()) transport.ackAll(deliveries);
            }
            Progress progress = counters.snapshot();
            if (progress.failed() > settings.maxFailedTasks()) {
                return new BatchOutcome(false, progress.failed() + " tasks failed, more than maxFailedTasks="
                        + settings.maxFailedTasks() + "; the batch stopped", progress);
            }
            Throwable error = publishError;
            if (error != null) {
                return new BatchOutcome(false, unreadable(source, error), progress);
            }
            if (progress.complete()) {
                return new BatchOutcome(true, null, progress);
            }
            String stop = stopReason;
            if (stop != null && deliveries.isEmpty()) {
                return new BatchOutcome(false, stop, progress); // only once what had arrived is stored
            }
            Duration stallLimit = settings.stallLimit();
            if (stallLimit != null && progress.publishingDone() && System.nanoTime() - lastResult > stallLimit.toNanos()) {
                if (!transport.tasksWaiting()) reissue(source, transport, stallLimit);
                lastResult = System.nanoTime(); // look again after another stallLimit
            }
        }
    }

    /**
     * Every task is published, none had a result for {@code stallLimit} and none waits in the transport: the tasks
     * still without a result are held where no answer will come from (a consumer that lives on but never answers; a
     * broker that keeps a dead node's deliveries checked out, as RabbitMQ 3.10 may after the node returns). Each is
     * published again as a first attempt; should the held copy come back one day, its result is a second one, which
     * the ledger drops.
     */
    private void reissue(TaskSource source, MasterTransport transport, Duration stallLimit) throws InterruptedException {
        List<Long> ids = new ArrayList<>();
        long id = 0;
        try (Stream<TaskSource.Entry> entries = source.entries()) {
            for (var it = entries.iterator(); id < total && it.hasNext(); id++) {
                TaskSource.Entry entry = it.next();
                if (entry.error() != null || ledger.contains(id)) continue;
                transport.publish(TaskMessage.first(id, entry.input()));
                ids.add(id);
            }
        } catch (UncheckedIOException | IOException e) {
            LOG.warnf("the batch stalled, but its source cannot be read again to publish its open tasks again: %s",
                    e.getMessage());
        }
        transport.awaitPublished();
        if (ids.isEmpty()) return;
        LOG.warnf("no result for %d s and no task waiting in the queues, but %s without a result (ids %s): held where no "
                        + "answer comes from, published again", stallLimit.toSeconds(),
                ids.size() == 1 ? "1 task" : ids.size() + " tasks", ids.size() <= 10 ? ids : ids.subList(0, 10) + " and more");
    }
}
