package io.taskbatch.cluster;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.taskbatch.master.LinesSource;
import io.taskbatch.master.TaskSources;
import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** What a batch's source needs, on a cluster: ConfigMaps from the API, claims where the pod mounts them. */
public final class ClusterResources implements TaskSources.Resources {
    /** Where the pod mounts {@code spec.tasks.files}'s claim, for the master's file walk. */
    public static final String ENV_FILES_ROOT = "TASKBATCH_FILES_ROOT";
    /** The batch as JSON: how workers, which get no API token, learn their batch. */
    public static final String ENV_MANIFEST = "TASKBATCH_MANIFEST";
    private final KubernetesClient client;
    private final String namespace;
    private final Path filesRoot;

    /** @param filesRoot where the pod mounts {@code spec.tasks.files.claimName}; null when it has none */
    public ClusterResources(KubernetesClient client, String namespace, Path filesRoot) {
        this.client = client;
        this.namespace = namespace;
        this.filesRoot = filesRoot;
    }

    @Override
    public LinesSource.TextOpener configMapKey(String name, String key) {
        return () -> {
            ConfigMap cm = client.configMaps().inNamespace(namespace).withName(name).get();
            if (cm == null) throw new FileNotFoundException("ConfigMap " + namespace + "/" + name + " does not exist");
            String text = cm.getData() == null ? null : cm.getData().get(key);
            if (text == null) {
                throw new FileNotFoundException("ConfigMap " + namespace + "/" + name + " has no key " + key
                        + (cm.getData() == null ? "" : " (keys: " + String.join(", ", cm.getData().keySet()) + ")"));
            }
            return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
        };
    }

    @Override
    public Path volume(String claimName) {
        if (filesRoot == null) {
            throw new IllegalStateException("claim " + claimName + " is not mounted here (" + ENV_FILES_ROOT + " unset)");
        }
        return filesRoot;
    }

    public static Path filesRootFromEnv() {
        String root = System.getenv(ENV_FILES_ROOT);
        return root == null || root.isBlank() ? null : Path.of(root);
    }
}
