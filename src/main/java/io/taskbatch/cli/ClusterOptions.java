package io.taskbatch.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where the batch commands find the cluster, as kubectl does: the kubeconfig ({@code --kubeconfig}, else
 * {@code $KUBECONFIG}, else {@code ~/.kube/config}, else the pod's own service account), its context
 * ({@code --context}, else the current one) and the namespace ({@code -n}, else the context's, else
 * {@code default}).
 */
public class ClusterOptions {
    static final String DEFAULT_NAMESPACE = "default";

    @Option(names = "--kubeconfig", paramLabel = "FILE",
            description = "The kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
    Path kubeconfig;

    @Option(names = "--context", paramLabel = "NAME", description = "The kubeconfig context to use (default: its current one).")
    String context;

    @Option(names = {"-n", "--namespace"}, paramLabel = "NAMESPACE",
            description = "The namespace (default: the context's namespace, else default).")
    String namespace;

    /** A connected cluster: the client and the namespace to work in. */
    record Cluster(KubernetesClient client, String namespace) implements AutoCloseable {
        @Override
        public void close() {
            client.close();
        }
    }

    /** The cluster these options name; null after telling {@code err} in one line what is wrong with them. */
    Cluster connect(PrintWriter err) {
        Config config;
        try {
            if (kubeconfig != null) {
                if (!Files.isReadable(kubeconfig)) {
                    err.println("--kubeconfig: cannot read " + kubeconfig);
                    return null;
                }
                config = Config.fromKubeconfig(context, kubeconfig.toFile());
            } else {
                config = Config.autoConfigure(context);
            }
        } catch (KubernetesClientException | IllegalArgumentException e) {
            err.println("cannot load the kubeconfig" + (kubeconfig == null ? "" : " " + kubeconfig) + ": " + e.getMessage());
            return null;
        }
        if (context != null && (config.getCurrentContext() == null || !context.equals(config.getCurrentContext().getName()))) {
            err.println("--context: there is no context \"" + context + "\" in the kubeconfig");
            return null;
        }
        String ns = namespace != null ? namespace
                : config.getNamespace() != null && !config.getNamespace().isBlank() ? config.getNamespace() : DEFAULT_NAMESPACE;
        // a command line answers at once: a few quick retries, not fabric8's default back-off of many seconds
        Config quick = new ConfigBuilder(config).withRequestRetryBackoffLimit(2).withRequestRetryBackoffInterval(250)
                .withConnectionTimeout(10_000).build();
        return new Cluster(new KubernetesClientBuilder().withConfig(quick).build(), ns);
    }

    /** The namespace given with {@code -n}, or null. */
    String givenNamespace() {
        return namespace;
    }
}
