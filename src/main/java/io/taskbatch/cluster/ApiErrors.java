package io.taskbatch.cluster;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Optional;

/** What a failed call to the API server comes down to, in one line a user can act on. */
public final class ApiErrors {
    private ApiErrors() {
    }

    /** The first exception in the chain that carries the API server's own Status message (a 403, a 404, ...). */
    public static Optional<KubernetesClientException> fromServer(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof KubernetesClientException k && k.getStatus() != null && k.getStatus().getMessage() != null) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    /** The innermost cause. */
    public static Throwable root(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        return root;
    }

    /** The API server's message where there is one, else the root cause. */
    public static String describe(Throwable e) {
        return fromServer(e).map(k -> k.getStatus().getMessage()).orElseGet(() -> {
            Throwable root = root(e);
            return root.getClass().getSimpleName() + ": " + root.getMessage();
        });
    }
}
