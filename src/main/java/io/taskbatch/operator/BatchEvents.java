package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.taskbatch.api.TaskBatch;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.jboss.logging.Logger;

/** Lifecycle events of a batch (started, resized, completed, failed), never one per task. */
public final class BatchEvents {
    private static final Logger LOG = Logger.getLogger(BatchEvents.class);
    static final String COMPONENT = "taskbatch-operator";

    public enum Reason {
        Started, Resized, Suspended, Resumed, Completed, Failed, Cancelled, Redriven, InvalidSpec, Expired, QueuesDeleted, QueueCleanupFailed;

        boolean warning() {
            return this == Failed || this == InvalidSpec || this == QueueCleanupFailed;
        }
    }

    private final KubernetesClient client;

    public BatchEvents(KubernetesClient client) {
        this.client = client;
    }

    public void record(TaskBatch batch, Reason reason, String message) {
        var meta = batch.getMetadata();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        var event = new EventBuilder()
                .withNewMetadata().withGenerateName(meta.getName() + ".").withNamespace(meta.getNamespace()).endMetadata()
                .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(TaskBatch.API_VERSION).withKind(TaskBatch.KIND)
                        .withName(meta.getName()).withNamespace(meta.getNamespace()).withUid(meta.getUid())
                        .withResourceVersion(meta.getResourceVersion()).build())
                .withType(reason.warning() ? "Warning" : "Normal").withReason(reason.name())
                .withMessage(message.length() > 1000 ? message.substring(0, 1000) : message)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .withNewSource().withComponent(COMPONENT).endSource()
                .build();
        try {
            client.v1().events().inNamespace(meta.getNamespace()).resource(event).create();
        } catch (KubernetesClientException e) {
            // an event is a courtesy: never fail a reconciliation over it
            LOG.warnf("cannot record event %s for %s/%s: %s", reason, meta.getNamespace(), meta.getName(), e.getMessage());
        }
    }
}
