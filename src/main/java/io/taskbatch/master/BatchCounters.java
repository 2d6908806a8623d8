package io.taskbatch.master;

import io.taskbatch.queue.ResultMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The counts of one batch, updated by the publisher and the result thread and read by progress
 * reporters. They must stay consistent together (a snapshot never shows a task as done but in
 * neither succeeded nor failed), so one lock guards them all.
 */
public final class BatchCounters {
    static final int FIRST_FAILURES_KEPT = 10;

    private final ReentrantLock lock = new ReentrantLock();
    private final long startNanos = System.nanoTime();
    private long total = -1;
    private long published;
    private boolean publishingDone;
    private long succeeded;
    private long failed;
    private long retried;
    private long dead;
    private long duplicates;
    private long rejected;
    private long cancelled;
    private final List<ResultMessage> firstFailures = new ArrayList<>();

    public void expectTotal(long total) {
        lock.lock();
        try {
            this.total = total;
        } finally {
            lock.unlock();
        }
    }

    public void published(long count) {
        lock.lock();
        try {
            published += count;
        } finally {
            lock.unlock();
        }
    }

    /** Publishing ended: the number published is now the exact total. */
    public void publishingDone() {
        lock.lock();
        try {
            publishingDone = true;
            total = published;
        } finally {
            lock.unlock();
        }
    }

    /** Counts a task's final result (the ledger has already dropped duplicates). */
    public void record(ResultMessage result) {
        lock.lock();
        try {
            if (result.status() == ResultMessage.Status.CANCELLED) {
                cancelled++;
                return;
            }
            if (result.succeeded()) {
                succeeded++;
            } else {
                failed++;
                if (result.dead()) dead++;
                if (firstFailures.size() < FIRST_FAILURES_KEPT) firstFailures.add(result);
            }
            retried += Math.max(0, result.attempts() - 1);
        } finally {
            lock.unlock();
        }
    }

    public void duplicate() {
        lock.lock();
        try {
            duplicates++;
        } finally {
            lock.unlock();
        }
    }

    /** A result that is not of this batch was dropped. */
    public void rejected() {
        lock.lock();
        try {
            rejected++;
        } finally {
            lock.unlock();
        }
    }

    /** Published and not yet finished. */
    public long inFlight() {
        lock.lock();
        try {
            return published - succeeded - failed;
        } finally {
            lock.unlock();
        }
    }

    public long failed() {
        lock.lock();
        try {
            return failed;
        } finally {
            lock.unlock();
        }
    }

    public Progress snapshot() {
        lock.lock();
        try {
            return new Progress(total, published, publishingDone, succeeded, failed, retried, dead, duplicates, rejected, cancelled,
                    Duration.ofNanos(System.nanoTime() - startNanos), List.copyOf(firstFailures));
        } finally {
            lock.unlock();
        }
    }
}
