package io.taskbatch.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/** A batch of small tasks run by one master and many workers over a queue. */
@Group(TaskBatch.GROUP)
@Version(TaskBatch.VERSION)
@ShortNames("tb")
@Categories(TaskBatch.CATEGORY)
@AdditionalPrinterColumn(name = "AGE", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class TaskBatch extends CustomResource<TaskBatchSpec, TaskBatchStatus> implements Namespaced {
    public static final String GROUP = "taskbatch.io";
    public static final String VERSION = "v1alpha1";
    public static final String API_VERSION = GROUP + "/" + VERSION;
    public static final String KIND = "TaskBatch";
    /** What {@code kubectl explain tb} says first. */
    public static final String DESCRIPTION = "A batch of small tasks run by one master and many workers over a RabbitMQ queue.";
    /**
     * {@code kubectl get taskbatch-all}: this operator's resources. Not {@code all}: {@code kubectl delete
     * all --all} would then delete the batches (and their results) with the pods; and not {@code taskbatch}
     * or {@code taskbatches}, the resource's own names, which a category of that name would shadow.
     */
    public static final String CATEGORY = "taskbatch-all";
    /**
     * The printer columns in the order {@code kubectl get tb} prints them (AGE last, as for built-in
     * kinds); MESSAGE has priority 1 ({@code -o wide}). Applied by {@link CrdConventions} at build time.
     */
    public static final List<String> PRINTER_COLUMNS =
            List.of("PHASE", "DONE", "FAILED", "WORKERS", "RATE", "ETA", "AGE", "MESSAGE");

    @Override
    @JsonPropertyDescription("What to run: the tasks, how each is run, the workers, retries, timeouts and where results go.")
    public TaskBatchSpec getSpec() {
        return super.getSpec();
    }

    @Override
    @JsonPropertyDescription("What the batch is doing: phase, conditions, counts, rate, ETA and where the results are. Written by the operator and the batch's master.")
    public TaskBatchStatus getStatus() {
        return super.getStatus();
    }
}
