package io.taskbatch.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.taskbatch.master.Progress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Copies the master's results file into the batch's results ConfigMap, whole lines only, up to a cap
 * (a ConfigMap holds at most 1 MiB); the status says how many results were kept.
 */
public final class ResultsConfigMapWriter implements MasterStatusWriter.ResultsPublisher {
    /** The key that holds the results, as JSON Lines. */
    public static final String KEY = "results.jsonl";
    /** What the status's results line says when the cap left some results out. */
    public static final String CAPPED = "results: the ConfigMap cap of ";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private final Path resultsFile;
    private final int maxBytes;

    public ResultsConfigMapWriter(KubernetesClient client, String namespace, String name, Path resultsFile, int maxBytes) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
        this.resultsFile = resultsFile;
        this.maxBytes = maxBytes;
    }

    @Override
    public String publish(Progress progress) {
        StringBuilder kept = new StringBuilder();
        long keptLines = 0;
        long allLines = 0;
        long bytes = 0;
        try (BufferedReader in = Files.newBufferedReader(resultsFile, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) continue;
                allLines++;
                long size = line.getBytes(StandardCharsets.UTF_8).length + 1;
                if (bytes + size <= maxBytes && keptLines == allLines - 1) {
                    kept.append(line).append('\n');
                    bytes += size;
                    keptLines++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the results file " + resultsFile, e);
        }
        String text = kept.toString();
        // one merge patch of the one key: no read first, and only `patch` in the master's Role
        var patch = JSON.createObjectNode();
        patch.putObject("data").put(KEY, text);
        // through a named stub: given only a name, fabric8 reads the object first (a `get` the Role need not grant)
        client.configMaps().inNamespace(namespace).resource(new ConfigMapBuilder().withNewMetadata().withName(name)
                .withNamespace(namespace).endMetadata().build()).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
        String where = "ConfigMap " + name + " key " + KEY;
        return keptLines == allLines ? where + " (all " + allLines + " results)"
                : where + " (first " + keptLines + " of " + allLines + " " + CAPPED + maxBytes
                + " bytes was reached; set spec.results.claimName to keep them all)";
    }
}
