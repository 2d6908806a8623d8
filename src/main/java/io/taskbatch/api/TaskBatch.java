package io.taskbatch.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A batch of small tasks run by one master and many workers over a queue. */
@Group(TaskBatch.GROUP)
@Version(TaskBatch.VERSION)
@ShortNames("tb")
@AdditionalPrinterColumn(name = "AGE", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class TaskBatch extends CustomResource<TaskBatchSpec, TaskBatchStatus> implements Namespaced {
    public static final String GROUP = "taskbatch.io";
    public static final String VERSION = "v1alpha1";
    public static final String API_VERSION = GROUP + "/" + VERSION;
    public static final String KIND = "TaskBatch";
}
