package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.InformerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResourceConfigBuilder;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.taskbatch.api.TaskBatch;

/**
 * A Job of a batch. A Job's pod template cannot change once created, so after creation the desired
 * Job keeps the actual template and only {@code parallelism} and {@code suspend} follow the spec.
 */
abstract class BatchJobDependent extends CRUDKubernetesDependentResource<Job, TaskBatch> {
    protected final OperatorConfig config;
    private final String component;

    BatchJobDependent(OperatorConfig config, String component) {
        super(Job.class, component + "-job");
        this.config = config;
        this.component = component;
        configureWith(new KubernetesDependentResourceConfigBuilder<Job>()
                .withKubernetesDependentInformerConfig(InformerConfiguration.builder(Job.class)
                        .withLabelSelector(BatchLabels.MANAGED_SELECTOR + "," + BatchLabels.COMPONENT + "=" + component)
                        .build())
                .build());
    }

    abstract String name(TaskBatch batch);

    /** The Job as it would be created now. */
    abstract Job build(TaskBatch batch, Context<TaskBatch> context);

    /** What may change on a running Job. */
    abstract void applyMutable(Job job, TaskBatch batch, Context<TaskBatch> context);

    @Override
    protected Job desired(TaskBatch batch, Context<TaskBatch> context) {
        Job desired = build(batch, context);
        getSecondaryResource(batch, context).ifPresent(actual -> {
            desired.getSpec().setTemplate(actual.getSpec().getTemplate());
            desired.getSpec().setSelector(actual.getSpec().getSelector());
        });
        applyMutable(desired, batch, context);
        return desired;
    }

    @Override
    protected ResourceID targetSecondaryResourceID(TaskBatch batch, Context<TaskBatch> context) {
        return new ResourceID(name(batch), batch.getMetadata().getNamespace());
    }

    String component() {
        return component;
    }
}
