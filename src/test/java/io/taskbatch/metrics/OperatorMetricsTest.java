package io.taskbatch.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class OperatorMetricsTest {
    /** An operator that runs for months sees batches come and go: a deleted batch leaves no series behind. */
    @Test
    void aDeletedBatchTakesItsReconcileCountersWithIt() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        OperatorMetrics metrics = new OperatorMetrics(registry);
        for (int i = 0; i < 100; i++) {
            metrics.reconciled("team-a", "b" + i, true);
            metrics.reconciled("team-a", "b" + i, false);
            metrics.phase("uid-" + i, "team-a", "Running");
        }
        metrics.reconciled("team-b", "b0", true);
        for (int i = 0; i < 100; i++) metrics.forget("uid-" + i, "team-a", "b" + i);

        assertThat(registry.find(MetricNames.OPERATOR_RECONCILES).meters()).singleElement()
                .satisfies(m -> assertThat(m.getId().getTag(MetricNames.NAMESPACE)).isEqualTo("team-b"));
        assertThat(registry.find(MetricNames.OPERATOR_BATCHES).tags(MetricNames.NAMESPACE, "team-a", "phase", "Running")
                .gauge().value()).isZero();
    }
}
