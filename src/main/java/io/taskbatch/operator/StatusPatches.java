package io.taskbatch.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import java.util.Set;

/**
 * Writes one owner's fields of a batch's status on the status subresource. A patch names only the
 * fields it changes, so the operator's writes never touch the master's counts and the master's never
 * touch the phase and conditions, however stale the writer's copy.
 */
public final class StatusPatches {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ATTEMPTS = 5;

    private StatusPatches() {
    }

    /** {@code status}'s non-null fields among {@code owned}, as {@code {"status": {...}}}. */
    public static ObjectNode patch(TaskBatchStatus status, Set<String> owned) {
        ObjectNode fields = JSON.valueToTree(status);
        fields.retain(owned);
        ObjectNode patch = JSON.createObjectNode();
        patch.set("status", fields);
        return patch;
    }

    /** True when applying {@code patch} to {@code current} would change nothing. */
    public static boolean changesNothing(TaskBatchStatus current, ObjectNode patch) {
        if (current == null) return false;
        JsonNode now = JSON.valueToTree(current);
        var fields = patch.get("status").properties();
        for (var field : fields) {
            if (!field.getValue().equals(now.get(field.getKey()))) return false;
        }
        return true;
    }

    /**
     * Sets the patch's fields on a fresh copy of the batch and writes its status with that copy's
     * resourceVersion, so a concurrent write by the other owner is never lost: it conflicts, and the
     * write is done again on the newer copy.
     */
    public static TaskBatch apply(KubernetesClient client, String namespace, String name, ObjectNode patch) {
        var resource = client.resources(TaskBatch.class).inNamespace(namespace).withName(name);
        for (int attempt = 1; ; attempt++) {
            TaskBatch fresh = resource.get();
            if (fresh == null) return null;
            ObjectNode status = fresh.getStatus() == null ? JSON.createObjectNode() : JSON.valueToTree(fresh.getStatus());
            patch.get("status").properties().forEach(field -> status.set(field.getKey(), field.getValue()));
            try {
                fresh.setStatus(JSON.treeToValue(status, TaskBatchStatus.class));
                return client.resource(fresh).updateStatus();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt >= MAX_ATTEMPTS) throw e;
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("status does not map to TaskBatchStatus", e);
            }
        }
    }
}
