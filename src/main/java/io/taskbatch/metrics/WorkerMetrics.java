package io.taskbatch.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A worker's meters for one batch. Built once, before the first task: each task then costs a counter increment and a
 * histogram record on meters already looked up, no tag building and no registry lookup on the hot path.
 */
public final class WorkerMetrics {
    /** What became of one attempt on this worker. */
    public enum Outcome {
        SUCCEEDED, FAILED, RETRIED, RELEASED, MALFORMED;

        final String tag = name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Buckets of the task duration histogram: from a millisecond (builtins) to an hour (long commands). */
    static final Duration[] DURATION_BUCKETS = {
            Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
            Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
            Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
            Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15), Duration.ofHours(1)};

    private final MeterRegistry registry;
    private final Tags batch;
    private final Counter[] tasks = new Counter[Outcome.values().length];
    private final Timer duration;
    private final Counter published;
    private final Counter acked;
    private final Counter nacked;
    private volatile Runnable onFirstConfirmed;

    /** Meters that go nowhere: for in-process runs and tests that do not look at metrics. */
    public static WorkerMetrics none() {
        return new WorkerMetrics(new CompositeMeterRegistry(), "local", "none", "none");
    }

    /**
     * @param executor how tasks run: builtin, command or processPool (the duration histogram's label)
     */
    public WorkerMetrics(MeterRegistry registry, String namespace, String batchName, String executor) {
        this.registry = registry;
        this.batch = Tags.of(MetricNames.NAMESPACE, namespace, MetricNames.BATCH, batchName);
        for (Outcome outcome : Outcome.values()) {
            tasks[outcome.ordinal()] = Counter.builder(MetricNames.WORKER_TASKS).tags(batch).tag("outcome", outcome.tag)
                    .description("Task attempts this worker finished, by outcome").register(registry);
        }
        duration = Timer.builder(MetricNames.TASK_DURATION).tags(batch).tag("executor", executor)
                .description("How long one attempt of a task ran, start to outcome")
                .serviceLevelObjectives(DURATION_BUCKETS).register(registry);
        published = Counter.builder(MetricNames.WORKER_RESULTS_PUBLISHED).tags(batch)
                .description("Results this worker published").register(registry);
        acked = Counter.builder(MetricNames.WORKER_RESULTS_CONFIRMED).tags(batch).tag("confirm", "acked")
                .description("Publisher confirms of this worker's results").register(registry);
        nacked = Counter.builder(MetricNames.WORKER_RESULTS_CONFIRMED).tags(batch).tag("confirm", "nacked")
                .description("Publisher confirms of this worker's results").register(registry);
    }

    /** One attempt ended as {@code outcome} after {@code nanos}; a released or malformed one has no duration. */
    public void attempt(Outcome outcome, long nanos) {
        tasks[outcome.ordinal()].increment();
        if (outcome != Outcome.RELEASED && outcome != Outcome.MALFORMED) duration.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void resultsPublished(int count) {
        if (count > 0) published.increment(count);
    }

    public void resultsConfirmed(int count, boolean ack) {
        (ack ? acked : nacked).increment(count);
        Runnable first = onFirstConfirmed;
        if (first != null && ack) {
            onFirstConfirmed = null;
            first.run();
        }
    }

    /** Runs {@code action} when the broker first confirms a result of this worker (the start-up clock stops there). */
    public void whenFirstResultConfirmed(Runnable action) {
        onFirstConfirmed = action;
    }

    /** A gauge of this batch read from {@code value} at each scrape (the registry holds {@code value} strongly). */
    public void gauge(String name, String description, Supplier<Number> value) {
        Gauge.builder(name, value).tags(batch).description(description).strongReference(true).register(registry);
    }
}
