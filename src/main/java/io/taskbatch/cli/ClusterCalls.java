package io.taskbatch.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ApiErrors;
import java.io.PrintWriter;

/** The batch commands' calls to the API server, and what a failed one means for the user and the exit code. */
final class ClusterCalls {
    private ClusterCalls() {
    }

    /** A call that failed, already told to the user: the command exits with {@link #exitCode}. */
    static final class Failed extends RuntimeException {
        final int exitCode;

        Failed(int exitCode, String message) {
            super(message, null, false, false);
            this.exitCode = exitCode;
        }
    }

    /** The TaskBatch, or {@link Failed} (exit 2) when there is none. */
    static TaskBatch batch(KubernetesClient client, String namespace, String name) {
        TaskBatch batch = call(client, () -> client.resources(TaskBatch.class).inNamespace(namespace).withName(name).get());
        if (batch == null) throw new Failed(ExitCodes.INVALID, "there is no TaskBatch \"" + name + "\" in namespace " + namespace);
        return batch;
    }

    /** Runs {@code call}; a failure becomes {@link Failed} with one line that says what happened. */
    static <T> T call(KubernetesClient client, java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (KubernetesClientException e) {
            throw failed(client, e);
        }
    }

    /**
     * What the API server said (401, 403, 404, 409, 422: exit 2, the request must change; 5xx: exit 3), or that
     * it could not be reached (exit 3), in one line.
     */
    static Failed failed(KubernetesClient client, Throwable e) {
        var fromServer = ApiErrors.fromServer(e);
        if (fromServer.isPresent()) {
            int code = fromServer.get().getCode();
            String said = fromServer.get().getStatus().getMessage();
            if (code == 401) said = "the API server at " + client.getMasterUrl() + " does not accept your credentials (" + said
                    + "); check the kubeconfig's user";
            return new Failed(code >= 500 || code == 429 ? ExitCodes.UNAVAILABLE : ExitCodes.INVALID, said);
        }
        Throwable root = ApiErrors.root(e);
        return new Failed(ExitCodes.UNAVAILABLE, "cannot reach the Kubernetes API at " + client.getMasterUrl() + " ("
                + root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage())
                + "); check --kubeconfig, --context or $KUBECONFIG");
    }

    /** Prints {@code f}'s line and returns its exit code. */
    static int report(Failed f, PrintWriter err) {
        err.println(f.getMessage());
        err.flush();
        return f.exitCode;
    }
}
