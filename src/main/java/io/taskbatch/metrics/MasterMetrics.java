package io.taskbatch.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.taskbatch.master.Progress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * A master's meters for one batch, all read at scrape time from what the master counts anyway (its {@link Progress}
 * snapshot, consistent across the counts) and from the broker's queue depths, sampled at most every
 * {@link #DEPTH_EVERY} however often Prometheus scrapes. Nothing here runs per task.
 */
public final class MasterMetrics {
    /** Queues a master reports the depth of, as the {@code queue} label says them. */
    public static final List<String> QUEUES = List.of("tasks", "retry", "results", "dead");
    static final Duration DEPTH_EVERY = Duration.ofSeconds(2);

    private MasterMetrics() {
    }

    /**
     * Registers the master's meters of the batch {@code namespace}/{@code batchName}.
     *
     * @param progress the master's counts now
     * @param depths   messages ready in each of {@link #QUEUES} now (asks the broker; may throw when it is away)
     */
    public static void register(MeterRegistry registry, String namespace, String batchName, Supplier<Progress> progress,
                                Supplier<Map<String, Long>> depths) {
        Tags batch = Tags.of(MetricNames.NAMESPACE, namespace, MetricNames.BATCH, batchName);
        gauge(registry, MetricNames.MASTER_TASKS, "Tasks in the batch (-1 while still counting)", batch, progress, Progress::total);
        gauge(registry, MetricNames.MASTER_IN_FLIGHT, "Tasks published and not done", batch, progress,
                p -> Math.max(0, p.published() - p.done()));
        gauge(registry, MetricNames.MASTER_RATE, "Tasks done per second since the batch started", batch, progress,
                Progress::averageRate);
        counter(registry, MetricNames.MASTER_PUBLISHED, "Tasks published to the task queue", batch, progress, Progress::published);
        counter(registry, MetricNames.MASTER_DONE, "Tasks done, each counted once", batch.and("outcome", "succeeded"), progress,
                Progress::succeeded);
        counter(registry, MetricNames.MASTER_DONE, "Tasks done, each counted once", batch.and("outcome", "failed"), progress,
                Progress::failed);
        counter(registry, MetricNames.MASTER_RETRIED, "Retries of finished tasks", batch, progress, Progress::retried);
        counter(registry, MetricNames.MASTER_DEAD, "Tasks dead-lettered after killing their workers", batch, progress,
                Progress::dead);
        counter(registry, MetricNames.MASTER_DUPLICATES, "Second results of a task, dropped", batch, progress,
                Progress::duplicates);
        counter(registry, MetricNames.MASTER_REJECTED, "Results not of this batch, dropped and never counted", batch,
                progress, Progress::rejected);
        DepthSampler sampler = new DepthSampler(depths);
        for (String queue : QUEUES) {
            Gauge.builder(MetricNames.MASTER_QUEUE_DEPTH, sampler, s -> s.depth(queue)).tags(batch).tag("queue", queue)
                    .description("Messages ready in the batch's queues on the broker").strongReference(true).register(registry);
        }
    }

    private static void gauge(MeterRegistry registry, String name, String description, Tags tags, Supplier<Progress> progress,
                              ToDoubleFunction<Progress> value) {
        Gauge.builder(name, progress, p -> value.applyAsDouble(p.get())).tags(tags).description(description)
                .strongReference(true).register(registry);
    }

    private static void counter(MeterRegistry registry, String name, String description, Tags tags,
                                Supplier<Progress> progress, ToDoubleFunction<Progress> value) {
        FunctionCounter.builder(name, progress, p -> value.applyAsDouble(p.get())).tags(tags).description(description)
                .register(registry);
    }

    /** The broker's queue depths, asked at most every {@link #DEPTH_EVERY}; NaN (no sample) while it cannot answer. */
    static final class DepthSampler {
        private final Supplier<Map<String, Long>> depths;
        private final ReentrantLock lock = new ReentrantLock();
        private Map<String, Long> last = Map.of();
        private long sampledAt;
        private boolean sampled;

        DepthSampler(Supplier<Map<String, Long>> depths) {
            this.depths = depths;
        }

        double depth(String queue) {
            lock.lock();
            try {
                long now = System.nanoTime();
                if (!sampled || now - sampledAt > DEPTH_EVERY.toNanos()) {
                    sampled = true;
                    sampledAt = now;
                    try {
                        last = depths.get();
                    } catch (RuntimeException e) {
                        last = Map.of();
                    }
                }
                Long depth = last.get(queue);
                return depth == null ? Double.NaN : depth;
            } finally {
                lock.unlock();
            }
        }
    }
}
