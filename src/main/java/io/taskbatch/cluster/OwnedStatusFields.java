package io.taskbatch.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The status fields one owner writes (the operator: phase, conditions, workers; the master: counts
 * and outcome), sent as a JSON merge patch to the status subresource. The two owners' fields are
 * disjoint and a merge patch replaces exactly the fields it names (a list whole), so neither writer
 * can undo the other's, whatever its copy of the batch, and no read precedes a write. The API server
 * authorizes it as {@code patch} on {@code taskbatches/status}.
 */
public final class OwnedStatusFields {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Field name to value; an owned field that is unset is sent as null, which removes it. */
    private final Map<String, JsonNode> fields;

    private OwnedStatusFields(Map<String, JsonNode> fields) {
        this.fields = fields;
    }

    /** {@code status}'s fields among {@code owned}; the others are not the writer's to send. */
    public static OwnedStatusFields of(TaskBatchStatus status, Set<String> owned) {
        ObjectNode all = JSON.valueToTree(status);
        Map<String, JsonNode> fields = new TreeMap<>();
        for (String name : owned) {
            JsonNode value = all.get(name);
            fields.put(name, value == null ? NullNode.getInstance() : value);
        }
        return new OwnedStatusFields(fields);
    }

    /** True when {@code current} already holds every one of these fields as it would be written. */
    public boolean changeNothingIn(TaskBatchStatus current) {
        JsonNode now = current == null ? JSON.createObjectNode() : JSON.valueToTree(current);
        for (var field : fields.entrySet()) {
            JsonNode was = now.get(field.getKey());
            if (!field.getValue().equals(was == null ? NullNode.getInstance() : was)) return false;
        }
        return true;
    }

    /** The request body: {@code {"status": {...these fields...}}}. */
    public String mergePatch() {
        ObjectNode status = JSON.createObjectNode();
        fields.forEach(status::set);
        ObjectNode patch = JSON.createObjectNode();
        patch.set("status", status);
        return patch.toString();
    }

    /** Writes these fields of the batch's status; the other owner's fields stay as they are. */
    public TaskBatch writeTo(KubernetesClient client, String namespace, String name) {
        // patched through a named stub: fabric8 reads the object first when only given its name
        TaskBatch named = new TaskBatch();
        named.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
        return client.resources(TaskBatch.class).inNamespace(namespace).resource(named).subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch());
    }
}
