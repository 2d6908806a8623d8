package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class SlotTest {

    /**
     * Fails without the slot's lock: the watchdog sees the old task overdue, the slot moves on to the
     * next task, and the watchdog's interrupt lands on the task that did nothing wrong.
     */
    @Test
    void theWatchdogNeverInterruptsATaskForThePreviousTasksDeadline() throws Exception {
        Slot slot = new Slot(0);
        slot.attach(Thread.currentThread());
        AtomicBoolean stop = new AtomicBoolean();
        Thread watchdog = Thread.ofPlatform().start(() -> {
            while (!stop.get()) slot.interruptIfOverdue(System.nanoTime(), 0);
        });
        int wronglyInterrupted = 0;
        int timedOut = 0;
        try {
            long far = TimeUnit.HOURS.toNanos(1);
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            // enough rounds for the race to show, and enough of them raced by the watchdog to count
            for (int i = 0; (i < 300_000 || timedOut < 1_000) && System.nanoTime() - giveUp < 0; i++) {
                slot.begin(System.nanoTime() - 1); // an overdue task: the watchdog may time it out
                if (slot.end()) timedOut++;
                slot.begin(System.nanoTime() + far); // the next task is far from its deadline
                boolean interrupted = Thread.interrupted();
                if (slot.end() || interrupted) wronglyInterrupted++;
            }
        } finally {
            stop.set(true);
            watchdog.join();
            Thread.interrupted();
        }
        assertThat(wronglyInterrupted).isZero();
        assertThat(timedOut).as("the watchdog did time out overdue tasks").isPositive();
    }

    @Test
    void aTimedOutTaskHasItsInterruptClearedBeforeTheNextOne() {
        Slot slot = new Slot(0);
        slot.attach(Thread.currentThread());
        slot.begin(System.nanoTime() - 10);
        slot.interruptIfOverdue(System.nanoTime(), 0);
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
        assertThat(slot.end()).isTrue();
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }
}
