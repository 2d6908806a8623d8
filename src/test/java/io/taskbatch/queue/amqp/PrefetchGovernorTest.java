package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PrefetchGovernorTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private static int settle(PrefetchGovernor g, long runNanos, long confirmNanos, int tasks) {
        for (int i = 0; i < tasks; i++) {
            g.taskRan(runNanos);
            g.confirmTook(confirmNanos);
            g.proposal();
        }
        return g.current();
    }

    @Test
    void trivialTasksGetADeepPrefetchSoTheirConfirmsOverlap() {
        assertThat(settle(new PrefetchGovernor(0, 1), 20_000, 2 * MS, 200)).isGreaterThanOrEqualTo(64);
    }

    @Test
    void longTasksGetAShallowOneSoNoneIsHoardedBehindARunningTask() {
        PrefetchGovernor g = new PrefetchGovernor(0, 1);
        settle(g, 20_000, 2 * MS, 200);
        assertThat(settle(g, 500 * MS, 2 * MS, 100)).isEqualTo(2);
    }

    @Test
    void aMixedBatchFollowsItsMeanTaskTime() {
        PrefetchGovernor g = new PrefetchGovernor(0, 1);
        for (int i = 0; i < 300; i++) {
            g.taskRan(i % 10 == 0 ? 500 * MS : 20_000);
            g.confirmTook(2 * MS);
            g.proposal();
        }
        assertThat(g.current()).isLessThanOrEqualTo(2);
    }

    @Test
    void trivialTasksKeepTheirDeepPrefetchThroughTheOddPauseOfABusyMachine() {
        PrefetchGovernor g = new PrefetchGovernor(0, 1);
        settle(g, 20_000, 2 * MS, 200);
        int deep = g.current();
        for (int i = 0; i < 2_000; i++) {
            // a GC pause or the slot's thread descheduled for 30 ms, about once per window
            g.taskRan(i % 50 == 0 ? 30 * MS : 20_000);
            g.confirmTook(2 * MS);
            assertThat(g.proposal()).as("task %d", i).isZero();
        }
        assertThat(g.current()).isEqualTo(deep);
    }

    /**
     * Trivial tasks whose measured time swings between 10 and 60 us (a JIT warming up, a busy machine): the slot holds
     * milliseconds of work at any prefetch, so it keeps its deep one instead of cancelling and consuming again (each
     * change may return the deliveries in flight, charged).
     */
    @Test
    void trivialTasksWhoseTimesSwingKeepTheirDeepPrefetch() {
        PrefetchGovernor g = new PrefetchGovernor(0, 1);
        int deep = settle(g, 10_000, 2 * MS, 200);
        assertThat(deep).isGreaterThan(100);
        for (int i = 0; i < 2_000; i++) {
            g.taskRan((i / 64) % 2 == 0 ? 60_000 : 10_000);
            g.confirmTook(2 * MS);
            assertThat(g.proposal()).as("task %d", i).isZero();
        }
        assertThat(g.current()).isEqualTo(deep);
    }

    @Test
    void aPrefetchFromTheSpecIsKept() {
        assertThat(settle(new PrefetchGovernor(7, 1), 20_000, 2 * MS, 200)).isEqualTo(7);
    }

    @Test
    void aSlotOverSeveralShardsSplitsItsPrefetchAndHoldsAtLeastOnePerShard() {
        assertThat(PrefetchGovernor.perShard(300, 3)).isEqualTo(100);
        assertThat(PrefetchGovernor.perShard(10, 3)).isEqualTo(4); // rounded up: never below the slot's own prefetch
        assertThat(PrefetchGovernor.perShard(1, 3)).isEqualTo(1);
        assertThat(PrefetchGovernor.perShard(7, 1)).isEqualTo(7);
    }
}
