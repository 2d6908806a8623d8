package io.taskbatch.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ClusterResources;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.plan.ManifestLoader;
import io.taskbatch.plan.SpecValidator;
import io.taskbatch.worker.TaskHandlers;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.function.Supplier;

/** The {@code --batch NAMESPACE/NAME} of the cluster roles: a TaskBatch from the API, or as the operator handed it over. */
final class ClusterBatch {
    private static final String ENV_MANIFEST = ClusterResources.ENV_MANIFEST;

    private ClusterBatch() {
    }

    /** @return the namespace and name, or null after telling {@code err} what is wrong */
    private static String[] parseRef(String ref, PrintWriter err) {
        String[] parts = ref.split("/", -1);
        if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
            err.println("--batch must be NAMESPACE/NAME, was \"" + ref + "\"");
            return null;
        }
        return parts;
    }

    static BatchFile fromApi(KubernetesClient client, String ref, TaskHandlers handlers, PrintWriter err) {
        String[] nn = parseRef(ref, err);
        if (nn == null) return null;
        TaskBatch batch;
        try {
            batch = client.resources(TaskBatch.class).inNamespace(nn[0]).withName(nn[1]).get();
        } catch (KubernetesClientException e) {
            err.println("cannot read TaskBatch " + ref + " from " + client.getMasterUrl() + ": " + e.getMessage());
            return null;
        }
        if (batch == null) {
            err.println("TaskBatch " + ref + " does not exist");
            return null;
        }
        return BatchFile.of(batch, new ClusterResources(client, nn[0], ClusterResources.filesRootFromEnv()), handlers, err);
    }

    /** A worker's batch: from {@code $TASKBATCH_MANIFEST} where the operator put it there, else from the API. */
    static BatchFile forWorker(Supplier<KubernetesClient> client, String ref, TaskHandlers handlers, PrintWriter err) {
        String json = System.getenv(ENV_MANIFEST);
        return json == null || json.isBlank() ? fromApi(client.get(), ref, handlers, err) : fromEnv(json, ref, handlers, err);
    }

    static BatchFile fromEnv(String json, String ref, TaskHandlers handlers, PrintWriter err) {
        String[] nn = parseRef(ref, err);
        if (nn == null) return null;
        try {
            TaskBatch batch = ManifestLoader.parse(json, Path.of("$" + ENV_MANIFEST)).batch();
            if (!nn[0].equals(batch.getMetadata().getNamespace()) || !nn[1].equals(batch.getMetadata().getName())) {
                err.println("$" + ENV_MANIFEST + " holds TaskBatch " + batch.getMetadata().getNamespace() + "/"
                        + batch.getMetadata().getName() + ", not " + ref);
                return null;
            }
            return BatchFile.of(batch, new ClusterResources(null, nn[0], ClusterResources.filesRootFromEnv()), handlers, err);
        } catch (InvalidManifestException e) {
            return BatchFile.report("invalid $" + ENV_MANIFEST, SpecValidator.withCrossFieldChecks(e, handlers.names()), err);
        }
    }
}
