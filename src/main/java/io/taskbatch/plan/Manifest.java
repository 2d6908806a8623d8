package io.taskbatch.plan;

import io.taskbatch.api.TaskBatch;
import java.nio.file.Path;
import java.util.Map;

/**
 * A TaskBatch read from a file, with the ConfigMaps the same file defines (the data a cluster would
 * get from {@code kubectl apply -f} of that file).
 */
public record Manifest(TaskBatch batch, Map<String, Map<String, String>> configMaps, Path file) {
}
