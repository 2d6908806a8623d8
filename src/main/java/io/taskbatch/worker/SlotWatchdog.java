package io.taskbatch.worker;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Interrupts in-JVM tasks that overrun their deadline. One thread scans all slots a few times a
 * second: no per-task timer to schedule and cancel on the hot path.
 */
final class SlotWatchdog implements AutoCloseable {
    private static final long TICK_MILLIS = 50;
    // executors that wait on processes enforce the deadline themselves; this is the backstop
    private static final long GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private final Thread thread;
    private volatile boolean stopped;

    SlotWatchdog(String name, List<Slot> slots) {
        this.thread = Thread.ofPlatform().daemon().name(name).unstarted(() -> {
            while (!stopped) {
                long now = System.nanoTime();
                for (Slot slot : slots) {
                    slot.interruptIfOverdue(now, GRACE_NANOS);
                }
                try {
                    Thread.sleep(TICK_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    void start() {
        thread.start();
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
    }
}
