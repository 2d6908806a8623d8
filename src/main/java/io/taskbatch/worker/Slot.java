package io.taskbatch.worker;

import java.util.concurrent.locks.ReentrantLock;

/**
 * One task slot: the thread running tasks one after another, and the deadline of the task it runs.
 * The slot's thread and the {@link SlotWatchdog} share this state, hence the lock: without it the
 * watchdog could interrupt the next task for the previous one's deadline.
 */
final class Slot {
    private final ReentrantLock lock = new ReentrantLock();
    private final int index;
    private Thread thread;
    private boolean running;
    private long deadlineNanos;
    private boolean timedOut;

    Slot(int index) {
        this.index = index;
    }

    int index() {
        return index;
    }

    void attach(Thread thread) {
        lock.lock();
        try {
            this.thread = thread;
        } finally {
            lock.unlock();
        }
    }

    void begin(long deadlineNanos) {
        lock.lock();
        try {
            this.running = true;
            this.deadlineNanos = deadlineNanos;
            this.timedOut = false;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a task runs on this slot now. */
    boolean busy() {
        lock.lock();
        try {
            return running;
        } finally {
            lock.unlock();
        }
    }

    /** Ends the task; returns whether the watchdog timed it out (and clears its interrupt). */
    boolean end() {
        lock.lock();
        try {
            running = false;
            if (timedOut) {
                Thread.interrupted();
            }
            return timedOut;
        } finally {
            lock.unlock();
        }
    }

    /** Interrupts the slot's task if it is still running {@code graceNanos} after its deadline. */
    void interruptIfOverdue(long nowNanos, long graceNanos) {
        lock.lock();
        try {
            if (running && !timedOut && nowNanos - (deadlineNanos + graceNanos) >= 0) {
                timedOut = true;
                thread.interrupt();
            }
        } finally {
            lock.unlock();
        }
    }
}
