package io.taskbatch.queue.amqp;

/**
 * Decides how many tasks one consuming thread may hold: enough to keep it busy while its results
 * wait for their confirms, no more, so a thread busy with long tasks never hoards tasks that an idle
 * one could run. A task is held from its delivery until its result is confirmed; while one runs,
 * {@code (run + confirm) / run} tasks fit in that time: about 2 for long tasks, hundreds for
 * trivial ones. The run time is the mean of the last tasks (what throughput depends on); the
 * confirm latency a moving average. Confined to the thread that owns the inbox, except the
 * confirm samples, which arrive from the connection's thread (volatile is enough for a gauge).
 */
final class PrefetchGovernor {
    static final int MIN = 1;
    static final int MAX = 300;
    private static final int WINDOW = 64;
    private static final int SAMPLES_BETWEEN_CHANGES = 16;
    /** Run times left out of the mean: the pauses of a busy machine, not the tasks' own time. */
    private static final int OUTLIERS = 2;

    private final int fixed;
    private final long[] runNanos = new long[WINDOW];
    private long runSum;
    private int runCount;
    private int samplesSinceChange;
    private volatile double confirmNanos = 2_000_000;
    private int current;

    /** @param fixed a prefetch from the spec; 0 adapts to the workload */
    PrefetchGovernor(int fixed, int initial) {
        this.fixed = fixed;
        this.current = fixed > 0 ? fixed : initial;
    }

    /**
     * What each of a slot's consumers may hold when it consumes {@code shards} task queues: the slot's prefetch
     * split evenly, at least one each (so a slot with prefetch 1 holds up to one task per shard; the worker's
     * max-hold gives back what waits too long).
     */
    static int perShard(int prefetch, int shards) {
        return Math.max(MIN, (prefetch + shards - 1) / shards);
    }

    int current() {
        return current;
    }

    void taskRan(long nanos) {
        int slot = runCount % WINDOW;
        if (runCount >= WINDOW) runSum -= runNanos[slot];
        runNanos[slot] = nanos;
        runSum += nanos;
        runCount++;
        samplesSinceChange++;
    }

    void confirmTook(long nanos) {
        confirmNanos = confirmNanos * 0.9 + nanos * 0.1;
    }

    /**
     * The mean run time of the window without its {@link #OUTLIERS} longest: a slot descheduled or paused by a GC while a
     * trivial task ran (2 cores shared by three JVMs and the broker do that often) must not drop its prefetch to a handful
     * and starve it until the pause leaves the window, as the plain mean did (seen: 172 re-subscriptions in one run of
     * 100,000 echo tasks, the prefetch going 300, 6, 300, 4 ...). A batch whose long tasks are more than a few in 64 keeps
     * its mean.
     */
    private double trimmedMeanRun() {
        int n = Math.min(runCount, WINDOW);
        if (n <= OUTLIERS * 4) return (double) runSum / n;
        long longest = 0;
        long second = 0;
        for (int i = 0; i < n; i++) {
            long v = runNanos[i];
            if (v > longest) {
                second = longest;
                longest = v;
            } else if (v > second) {
                second = v;
            }
        }
        return (double) (runSum - longest - second) / (n - OUTLIERS);
    }

    /**
     * The prefetch to switch to, or 0 to keep the current one: at least twice it or at most half of it, and a smaller one
     * only when what the slot holds is worth more than {@link #HOARD_LIMIT_NANOS} of work. A quorum-queue consumer changes
     * its prefetch by cancel and consume, and RabbitMQ 3.10 returns the deliveries in flight to a cancelled consumer,
     * each charged a delivery (they then run alone as suspects): a slot of trivial tasks whose estimate swings between
     * 44 and 300 (60 changes a second at a batch's start, 68 tasks turned suspects in a run of 30,000 echo tasks) holds
     * milliseconds of work either way, and keeps its prefetch.
     */
    int proposal() {
        if (fixed > 0 || samplesSinceChange < SAMPLES_BETWEEN_CHANGES) return 0;
        double run = meanRun();
        int desired = desired(run);
        boolean hoards = current * run > HOARD_LIMIT_NANOS;
        if (desired >= current * 2 || (desired * 2 <= current && hoards)) {
            samplesSinceChange = 0;
            current = desired;
            return desired;
        }
        return 0;
    }

    /** Work held by a slot (its prefetch times the mean run time) below which its prefetch never shrinks. */
    static final long HOARD_LIMIT_NANOS = 100_000_000;

    int desired() {
        return desired(meanRun());
    }

    private double meanRun() {
        return Math.max(1_000, trimmedMeanRun());
    }

    private int desired(double run) {
        long wanted = (long) Math.ceil((run + confirmNanos) / run);
        return (int) Math.max(MIN, Math.min(MAX, wanted));
    }
}
