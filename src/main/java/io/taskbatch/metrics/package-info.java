/**
 * What each role tells Prometheus (Micrometer, served on {@code /q/metrics}): {@link WorkerMetrics} on workers,
 * {@link MasterMetrics} on masters, {@link OperatorMetrics} on the operator. Every series is labelled with the
 * batch's {@code namespace} and {@code batch} name, never with anything per task, so a batch of a million tasks
 * makes as many series as a batch of one. The names are listed once, in {@link MetricNames}: the chart's dashboard
 * and alerts are checked against them.
 */
package io.taskbatch.metrics;
