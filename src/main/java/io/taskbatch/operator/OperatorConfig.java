package io.taskbatch.operator;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * The operator's settings, from {@code application.properties} or the environment
 * ({@code TASKBATCH_OPERATOR_IMAGE}, {@code TASKBATCH_OPERATOR_BROKER_SECRET}, ...). The watched
 * namespaces are JOSDK's: {@code QUARKUS_OPERATOR_SDK_CONTROLLERS_TASKBATCH_NAMESPACES}.
 */
@ConfigMapping(prefix = "taskbatch.operator")
public interface OperatorConfig {

    /** Image of the master and (unless a batch names its own) the workers: this operator's image. */
    @WithDefault("ghcr.io/taskbatch/taskbatch:latest")
    String image();

    @WithDefault("IfNotPresent")
    String imagePullPolicy();

    /** Secret in the batch's namespace with the broker's AMQP URI, unless the batch names one. */
    @WithDefault("taskbatch-broker")
    String brokerSecret();

    /** Key of the URI in that Secret. */
    @WithDefault("uri")
    String brokerSecretKey();

    /** CPU and memory of the master pod. */
    @WithDefault("250m")
    String masterCpu();

    @WithDefault("512Mi")
    String masterMemory();

    /** How often a running batch is looked at again even when nothing changed (worker sizing, TTL). */
    @WithDefault("30s")
    Duration resyncInterval();

    /** Results kept in a batch's results ConfigMap, at most (a ConfigMap holds 1 MiB). */
    @WithDefault("900000")
    int resultsConfigMapMaxBytes();

    /** Give up deleting a deleted batch's queues after this long (broker gone for good). */
    @WithDefault("10m")
    Duration queueCleanupTimeout();

    /**
     * How long master and worker pods keep serving {@code /q/metrics} once they are done (their batch is over, or
     * they were told to stop), so that Prometheus scrapes the final counts: more than the PodMonitor's interval (the
     * chart's {@code metrics.podMonitor.interval}) and less than the pods' termination grace period (30 s).
     */
    @WithDefault("20s")
    Duration metricsLinger();

    /** Service account of the worker pods unless a batch names one; empty: the namespace's default. */
    Optional<String> workerServiceAccount();
}
