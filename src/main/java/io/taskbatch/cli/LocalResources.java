package io.taskbatch.cli;

import io.taskbatch.api.TaskSourceSpec;
import io.taskbatch.master.LinesSource;
import io.taskbatch.master.TaskSources;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.plan.Manifest;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a cluster would mount, found on this machine: a ConfigMap key is read from a ConfigMap in the
 * manifest file itself, or else from a file named like the key beside the manifest; a claim is a
 * directory given with {@code --volume CLAIM=DIR}, by default the manifest's directory.
 */
final class LocalResources implements TaskSources.Resources {
    private final Manifest manifest;
    private final Map<String, Path> volumes;

    LocalResources(Manifest manifest, Map<String, Path> volumes) {
        this.manifest = manifest;
        this.volumes = volumes == null ? Map.of() : volumes;
    }

    private Path manifestDir() {
        Path parent = manifest.file().toAbsolutePath().getParent();
        return parent == null ? Path.of(".").toAbsolutePath() : parent;
    }

    /** Fails, naming the field, when the source's ConfigMap or volume is not here. */
    void check(TaskSourceSpec tasks) throws InvalidManifestException {
        if (tasks.getConfigMap() != null) {
            String name = tasks.getConfigMap().getName();
            String key = tasks.getConfigMap().getKey();
            Map<String, String> data = manifest.configMaps().get(name);
            if (data != null && !data.containsKey(key)) {
                throw new InvalidManifestException("spec.tasks.configMap.key", "ConfigMap \"" + name + "\" in "
                        + manifest.file() + " has no key \"" + key + "\" (keys: " + String.join(", ", data.keySet()) + ")");
            }
            if (data == null && !Files.isRegularFile(manifestDir().resolve(key))) {
                throw new InvalidManifestException("spec.tasks.configMap", "ConfigMap \"" + name + "\" is not in "
                        + manifest.file() + " and there is no file " + manifestDir().resolve(key)
                        + "; add the ConfigMap to the file (after a --- line) or put " + key + " beside the manifest");
            }
        }
        if (tasks.getFiles() != null) {
            Path root = volume(tasks.getFiles().getClaimName());
            if (!Files.isDirectory(root)) {
                throw new InvalidManifestException("spec.tasks.files.claimName", "the volume of claim \""
                        + tasks.getFiles().getClaimName() + "\" is " + root + ", which is not a directory; map it with --volume "
                        + tasks.getFiles().getClaimName() + "=DIR");
            }
        }
    }

    @Override
    public LinesSource.TextOpener configMapKey(String name, String key) {
        Map<String, String> data = manifest.configMaps().get(name);
        if (data != null) {
            String text = data.get(key);
            return () -> new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
        }
        Path file = manifestDir().resolve(key);
        return () -> Files.newInputStream(file);
    }

    @Override
    public Path volume(String claimName) {
        Path mapped = volumes.get(claimName);
        return mapped != null ? mapped.toAbsolutePath() : manifestDir();
    }
}
