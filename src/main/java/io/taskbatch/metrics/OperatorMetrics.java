package io.taskbatch.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator's meters: reconciliations by batch and result, and how many TaskBatches it sees in each phase, per
 * namespace. The phase of each batch is remembered by uid until the batch is deleted, so the gauges count batches,
 * not reconciliations; a deleted batch's counters are removed with it.
 */
@ApplicationScoped
public class OperatorMetrics {
    private record Batch(String namespace, String phase) {
    }

    private final MeterRegistry registry;
    private final Map<String, Batch> phases = new ConcurrentHashMap<>();
    private final Set<Batch> gauged = ConcurrentHashMap.newKeySet();

    @Inject
    public OperatorMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** One reconciliation of {@code namespace}/{@code name} ended, well or with an error. */
    public void reconciled(String namespace, String name, boolean ok) {
        Counter.builder(MetricNames.OPERATOR_RECONCILES)
                .tags(Tags.of(MetricNames.NAMESPACE, namespace, MetricNames.BATCH, name, "result", ok ? "ok" : "error"))
                .description("Reconciliations of a TaskBatch").register(registry).increment();
    }

    /** The batch {@code uid} is now in {@code phase} (null: none yet). */
    public void phase(String uid, String namespace, String phase) {
        if (phase == null) return;
        Batch batch = new Batch(namespace, phase);
        phases.put(uid, batch);
        if (gauged.add(batch)) {
            Gauge.builder(MetricNames.OPERATOR_BATCHES, phases,
                            all -> all.values().stream().filter(batch::equals).count())
                    .tags(Tags.of(MetricNames.NAMESPACE, namespace, "phase", phase))
                    .description("TaskBatches in each phase").register(registry);
        }
    }

    /** The batch {@code uid} ({@code namespace}/{@code name}) is gone: so are its phase and its reconcile counters. */
    public void forget(String uid, String namespace, String name) {
        phases.remove(uid);
        // a deleted batch's series would otherwise stay for the operator's lifetime: meters grow with every batch ever seen
        registry.find(MetricNames.OPERATOR_RECONCILES).tags(MetricNames.NAMESPACE, namespace, MetricNames.BATCH, name)
                .meters().forEach(registry::remove);
    }
}
