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

    /** Several replicas, one reconciling: who holds the Lease. */
    LeaderElection leaderElection();

    /**
     * Leader election through a {@code coordination.k8s.io} Lease ({@code TASKBATCH_OPERATOR_LEADER_ELECTION_*}). On
     * only when the Lease's namespace is known: the pod's ({@code POD_NAMESPACE}, from the downward API) or set here.
     * Without one (a laptop, {@code taskbatch operator} against a kubeconfig) the operator reconciles alone, as before.
     */
    interface LeaderElection {
        /** false: never elect, even in a pod (then run one replica only). */
        @WithDefault("true")
        boolean enabled();

        /** Name of the Lease; the operator's Role grants get, update and patch on this name only. */
        @WithDefault("taskbatch-operator")
        String leaseName();

        /** Namespace of the Lease: the operator's own (application.properties: {@code ${POD_NAMESPACE:}}). */
        Optional<String> leaseNamespace();

        /** Who holds the Lease: the pod's name ({@code ${POD_NAME:}}); else HOSTNAME, else a random id. */
        Optional<String> identity();

        /** A leader that has not renewed for this long is replaced: the longest a killed leader's batches wait. */
        @WithDefault("15s")
        Duration leaseDuration();

        /** The leader gives up (and exits, to stand by again) when it could not renew for this long. */
        @WithDefault("10s")
        Duration renewDeadline();

        /** How often the leader renews and the others try to acquire. */
        @WithDefault("2s")
        Duration retryPeriod();
    }
}
