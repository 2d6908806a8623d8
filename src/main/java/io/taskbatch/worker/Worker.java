package io.taskbatch.worker;

import io.taskbatch.metrics.MetricNames;
import io.taskbatch.metrics.WorkerMetrics;
import io.taskbatch.queue.WorkerTransport;
import io.taskbatch.queue.WorkerTransport.TaskDelivery;
import io.taskbatch.queue.WorkerTransport.TaskInbox;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jboss.logging.Logger;

/**
 * A worker: a fixed number of task slots, each a thread with its own inbox (its own channel on a
 * broker), taking one task at a time until the batch is finished. CPU-bound executors get platform
 * threads, one per slot; executors that mostly wait get virtual threads.
 */
public final class Worker implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Worker.class);
    private static final Duration IDLE_POLL = Duration.ofMillis(100);

    private final WorkerTransport transport;
    private final TaskRunner runner;
    private final List<Slot> slots = new ArrayList<>();
    private final ExecutorService threads;
    private final SlotWatchdog watchdog;
    private volatile boolean stopping;
    // tasks run under the read lock; a suspect (a task held by a worker that died) under the write lock, alone, so
    // that if it kills this worker too, it is the only task charged for it
    private final ReentrantReadWriteLock alone = new ReentrantReadWriteLock();

    public Worker(Settings settings, TaskExecutor executor, WorkerTransport transport) {
        this(settings, executor, transport, WorkerMetrics.none());
    }

    /** A worker that counts its tasks in {@code metrics} and shows its slots there. */
    public Worker(Settings settings, TaskExecutor executor, WorkerTransport transport, WorkerMetrics metrics) {
        if (settings.slots() < 1) throw new IllegalArgumentException("a worker needs at least one slot");
        this.transport = transport;
        this.runner = new TaskRunner(settings.batch(), settings.name(), executor, settings.retry(), settings.taskTimeout(),
                metrics);
        ThreadFactory factory = executor.waitsMostly()
                ? Thread.ofVirtual().name("taskbatch-slot-", 1).factory()
                : Thread.ofPlatform().name("taskbatch-slot-", 1).daemon().factory();
        this.threads = Executors.newThreadPerTaskExecutor(factory);
        for (int i = 0; i < settings.slots(); i++) slots.add(new Slot(i));
        this.watchdog = new SlotWatchdog("taskbatch-watchdog", slots);
        metrics.gauge(MetricNames.WORKER_SLOTS, "Task slots of this worker", slots::size);
        metrics.gauge(MetricNames.WORKER_SLOTS_BUSY, "Slots running a task now", this::busySlots);
    }

    /** Identity and limits of a worker. */
    public record Settings(String batch, String name, int slots, RetryPolicy retry, Duration taskTimeout) {
    }

    public Worker start() {
        watchdog.start();
        for (Slot slot : slots) {
            threads.execute(() -> runSlot(slot));
        }
        threads.shutdown();
        return this;
    }

    private void runSlot(Slot slot) {
        slot.attach(Thread.currentThread());
        try (TaskInbox inbox = transport.openInbox()) {
            while (!stopping) {
                if (slot.index() == 0 && transport.suspectsWaiting()) runSuspectsAlone(slot);
                TaskDelivery delivery = inbox.take(IDLE_POLL);
                if (delivery == null) {
                    if (transport.finished()) return;
                    continue;
                }
                alone.readLock().lockInterruptibly(); // waits while a suspect runs alone
                try {
                    if (stopping) {
                        delivery.release();
                        return;
                    }
                    runner.run(delivery, slot);
                } finally {
                    alone.readLock().unlock();
                }
            }
        } catch (InterruptedException e) {
            LOG.debugf("slot %d stopped", slot.index());
        } catch (RuntimeException | Error e) {
            // the inbox returns what this slot held; the batch goes on with the other slots
            LOG.errorf(e, "slot %d died", slot.index());
        }
    }

    /**
     * Runs the suspects, one at a time, once the other slots have finished what they run and while they start
     * nothing new; then lets them go on.
     */
    private void runSuspectsAlone(Slot slot) throws InterruptedException {
        alone.writeLock().lockInterruptibly();
        try (TaskInbox suspects = transport.openSuspectInbox()) {
            if (suspects == null) return;
            TaskDelivery suspect;
            while (!stopping && (suspect = suspects.take(Duration.ZERO)) != null) {
                LOG.debugf("running task %d alone: a worker died while holding it", suspect.task().id());
                runner.run(suspect, slot);
            }
        } finally {
            alone.writeLock().unlock();
        }
    }

    /** Waits until every slot has stopped (the batch finished, or {@link #stop} was called). */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return threads.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Stops taking tasks; running tasks get {@code grace} to finish, then are interrupted and their
     * tasks given back to the queue.
     */
    public void stop(Duration grace) throws InterruptedException {
        stopping = true;
        if (!threads.awaitTermination(grace.toNanos(), TimeUnit.NANOSECONDS)) {
            threads.shutdownNow();
            threads.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Slots running a task now. */
    public int busySlots() {
        int busy = 0;
        for (Slot slot : slots) {
            if (slot.busy()) busy++;
        }
        return busy;
    }

    public int slots() {
        return slots.size();
    }

    @Override
    public void close() {
        stopping = true;
        threads.shutdownNow();
        watchdog.close();
    }
}
