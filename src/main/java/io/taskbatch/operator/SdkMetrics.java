package io.taskbatch.operator;

import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * JOSDK's own meters ({@code operator_sdk_*}: reconciliations, their timer, events), per controller. The Quarkus
 * extension's default keeps about seven per TaskBatch, among them a timer with a percentile histogram (some 80 series
 * a batch): 1,000 batches cost about 18 MB more heap, and a reconciliation took half as long again (README, "The operator"). What a user
 * reads per batch is {@code taskbatch_operator_reconciles_total{namespace,batch}} and the status.
 */
@Singleton
public class SdkMetrics {
    @Produces
    @Singleton
    Metrics sdkMetrics(MeterRegistry registry) {
        return MicrometerMetrics.withoutPerResourceMetrics(registry);
    }
}
