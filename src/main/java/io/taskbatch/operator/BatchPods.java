package io.taskbatch.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ClusterResources;
import io.taskbatch.api.TaskBatchSpec;
import io.taskbatch.queue.amqp.BrokerAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What master and worker pods have in common: image, broker credentials, mounts, a restricted security context. */
final class BatchPods {
    static final String TMP = "/tmp";
    static final String STATE_DIR = "/var/run/taskbatch";
    static final String TASKS_CLAIM_DIR = "/mnt/tasks";
    static final String RESULTS_CLAIM_DIR = "/mnt/results";
    static final long UID = 10001;

    private static final ObjectMapper JSON = new ObjectMapper();

    private BatchPods() {
    }

    static String batchRef(TaskBatch batch) {
        return batch.getMetadata().getNamespace() + "/" + batch.getMetadata().getName();
    }

    /** The only way credentials reach a pod: a reference to the Secret, resolved by the kubelet. */
    static EnvVar brokerUri(TaskBatch batch, OperatorConfig config) {
        return new EnvVarBuilder().withName(BrokerAddress.ENV_URI)
                .withNewValueFrom().withNewSecretKeyRef(config.brokerSecretKey(), brokerSecret(batch, config), false)
                .endValueFrom().build();
    }

    static String brokerSecret(TaskBatch batch, OperatorConfig config) {
        var broker = batch.getSpec().getBroker();
        return broker != null && broker.getSecretRef() != null && broker.getSecretRef().getName() != null
                ? broker.getSecretRef().getName() : config.brokerSecret();
    }

    static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    /** The log format (text or json) the operator runs with; its master and worker pods get the same. */
    static final String LOG_FORMAT = "TASKBATCH_LOG_FORMAT";

    /** The named port master and worker pods serve {@code /q/metrics} and {@code /q/health} on (the chart's PodMonitor scrapes it). */
    static final String METRICS_PORT_NAME = "metrics";
    static final int METRICS_PORT = 8080;
    /** How a role learns its HTTP port (application.properties; 0, a free port, when unset, for roles on one host). */
    static final String HTTP_PORT_ENV = "TASKBATCH_HTTP_PORT";
    static final String SHUTDOWN_DELAY_ENV = "QUARKUS_SHUTDOWN_DELAY";

    static Container container(String name, String image, OperatorConfig config, List<String> args, List<EnvVar> env,
                               List<VolumeMount> mounts, String cpu, String memory) {
        List<EnvVar> all = new ArrayList<>(env);
        String logFormat = System.getenv(LOG_FORMAT);
        if (logFormat != null && !logFormat.isBlank()) all.add(env(LOG_FORMAT, logFormat));
        all.add(env(HTTP_PORT_ENV, String.valueOf(METRICS_PORT)));
        // Quarkus' shutdown delay (enabled in application.properties): however the role ends, done or SIGTERM (a
        // worker the operator scales down), it serves its last counts this long before it goes
        all.add(env(SHUTDOWN_DELAY_ENV, config.metricsLinger().toMillis() + "ms"));
        return new ContainerBuilder().withName(name).withImage(image).withImagePullPolicy(config.imagePullPolicy())
                .withArgs(args).withEnv(all).withVolumeMounts(mounts)
                .addNewPort().withName(METRICS_PORT_NAME).withContainerPort(METRICS_PORT).withProtocol("TCP").endPort()
                // a worker is ready while it consumes its batch's tasks, a master once its queues are declared
                // (io.taskbatch.cli.RoleReadiness); nothing routes to them, so readiness is what `kubectl get pods` shows
                .withNewReadinessProbe().withNewHttpGet().withPath("/q/health/ready").withNewPort(METRICS_PORT_NAME)
                .endHttpGet().withPeriodSeconds(5).withFailureThreshold(3).endReadinessProbe()
                .withNewResources()
                .addToRequests("cpu", new Quantity(cpu)).addToRequests("memory", new Quantity(memory))
                .addToLimits("memory", new Quantity(memory))
                .endResources()
                .withSecurityContext(containerSecurity())
                .build();
    }

    /** The restricted Pod Security Standard's container part: no escalation, no capabilities, a read-only root. */
    static io.fabric8.kubernetes.api.model.SecurityContext containerSecurity() {
        return new SecurityContextBuilder().withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true).withRunAsNonRoot(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities()
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().build();
    }

    static io.fabric8.kubernetes.api.model.PodSecurityContext podSecurity() {
        return new PodSecurityContextBuilder().withRunAsNonRoot(true).withRunAsUser(UID).withRunAsGroup(UID)
                .withFsGroup(UID).withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().build();
    }

    /** Volumes and mounts both roles need: a writable /tmp and, for a files source, its claim. */
    static void commonVolumes(TaskBatchSpec spec, List<Volume> volumes, List<VolumeMount> mounts, List<EnvVar> env) {
        volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build());
        mounts.add(new VolumeMountBuilder().withName("tmp").withMountPath(TMP).build());
        if (spec.getTasks().getFiles() != null) {
            volumes.add(new VolumeBuilder().withName("tasks").withNewPersistentVolumeClaim()
                    .withClaimName(spec.getTasks().getFiles().getClaimName()).withReadOnly(true).endPersistentVolumeClaim().build());
            mounts.add(new VolumeMountBuilder().withName("tasks").withMountPath(TASKS_CLAIM_DIR).withReadOnly(true).build());
            env.add(env(ClusterResources.ENV_FILES_ROOT, TASKS_CLAIM_DIR));
        }
    }

    /** The batch as workers need it: identity and spec, nothing of its status. */
    static String manifestJson(TaskBatch batch) {
        ObjectNode doc = JSON.createObjectNode();
        doc.put("apiVersion", TaskBatch.API_VERSION).put("kind", TaskBatch.KIND);
        doc.putObject("metadata").put("name", batch.getMetadata().getName())
                .put("namespace", batch.getMetadata().getNamespace()).put("uid", batch.getMetadata().getUid());
        doc.set("spec", JSON.valueToTree(batch.getSpec()));
        return doc.toString();
    }

    static List<EnvVar> userEnv(Map<String, String> env) {
        List<EnvVar> out = new ArrayList<>();
        if (env != null) env.forEach((k, v) -> out.add(env(k, v)));
        return out;
    }
}
