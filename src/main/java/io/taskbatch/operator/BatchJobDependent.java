package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.taskbatch.api.TaskBatch;
import jakarta.inject.Inject;

/**
 * A Job of a batch. A Job's pod template cannot change once created, so after creation the desired
 * Job keeps the actual template and only {@code parallelism} and {@code suspend} follow the spec.
 */
abstract class BatchJobDependent extends CRUDKubernetesDependentResource<Job, TaskBatch> {
    @Inject
    protected OperatorConfig config;

    /** For CDI: the workflow on {@link TaskBatchReconciler} declares this dependent, and Quarkus injects the config. */
    BatchJobDependent() {
        super(Job.class);
    }

    /** For building a Job outside the operator (tests). */
    BatchJobDependent(OperatorConfig config) {
        this();
        this.config = config;
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

    /** A Job Kueue holds is the operator's only to create: its suspend and pod count are Kueue's from then on. */
    @Override
    public Matcher.Result<Job> match(Job actual, TaskBatch batch, Context<TaskBatch> context) {
        return KueueAdmission.holds(actual) ? Matcher.Result.nonComputed(true) : super.match(actual, batch, context);
    }

    @Override
    protected ResourceID targetSecondaryResourceID(TaskBatch batch, Context<TaskBatch> context) {
        return new ResourceID(name(batch), batch.getMetadata().getNamespace());
    }

}
