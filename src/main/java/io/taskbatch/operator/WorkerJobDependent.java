package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ClusterResources;
import io.taskbatch.api.WorkersSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The workers: a work-queue Job ({@code parallelism} pods, no {@code completions}), so it completes
 * once the workers exit 0, which they do when the master declares the batch over. Workers get no
 * API token: the batch reaches them as an environment variable.
 */
@KubernetesDependent(informer = @Informer(labelSelector = BatchLabels.MANAGED_SELECTOR + "," + BatchLabels.COMPONENT + "="
        + BatchLabels.WORKER))
public class WorkerJobDependent extends BatchJobDependent {
    /** Key of the sizing decision the reconciler leaves in the context for this reconciliation. */
    static final String SIZING = "workerSizing";
    /** Worker containers restarted this often in all (crashes, OOM kills) before the batch gives up. */
    static final int BACKOFF_LIMIT = 100;
    static final int GRACE_SECONDS = 30;

    public WorkerJobDependent() {
    }

    WorkerJobDependent(OperatorConfig config) {
        super(config);
    }

    @Override
    String name(TaskBatch batch) {
        return BatchLabels.workerJob(batch);
    }

    /** Task slots of one worker pod: {@code concurrency}, else one per requested core. */
    static int slots(WorkersSpec workers) {
        if (workers.getConcurrency() > 0) return workers.getConcurrency();
        double cores = Quantity.getAmountInBytes(new Quantity(workers.getCpu())).doubleValue();
        return Math.max(1, (int) Math.floor(cores));
    }

    @Override
    Job build(TaskBatch batch, Context<TaskBatch> context) {
        WorkersSpec workers = batch.getSpec().getWorkers();
        List<Volume> volumes = new ArrayList<>();
        List<VolumeMount> mounts = new ArrayList<>();
        List<EnvVar> env = new ArrayList<>(List.of(BatchPods.brokerUri(batch, config),
                BatchPods.env(ClusterResources.ENV_MANIFEST, BatchPods.manifestJson(batch))));
        BatchPods.commonVolumes(batch.getSpec(), volumes, mounts, env);
        env.addAll(BatchPods.userEnv(workers.getEnv()));
        List<String> args = new ArrayList<>(List.of("worker", "--batch", BatchPods.batchRef(batch),
                "--slots", Integer.toString(slots(workers)), "--grace", Integer.toString(GRACE_SECONDS - 5)));
        int round = BatchRounds.current(batch);
        if (round > 0) args.addAll(List.of("--round", Integer.toString(round)));
        String image = workers.getImage() != null ? workers.getImage() : config.image();
        String account = workers.getServiceAccountName() != null ? workers.getServiceAccountName()
                : config.workerServiceAccount().orElse(null);
        Job job = new JobBuilder()
                .withNewMetadata().withName(name(batch)).withNamespace(batch.getMetadata().getNamespace())
                .withLabels(BatchLabels.of(batch, BatchLabels.WORKER)).endMetadata()
                .withNewSpec().withBackoffLimit(BACKOFF_LIMIT)
                .withNewTemplate()
                .withNewMetadata().withLabels(BatchLabels.of(batch, BatchLabels.WORKER)).endMetadata()
                .withNewSpec()
                .withRestartPolicy("OnFailure")
                .withServiceAccountName(account)
                .withAutomountServiceAccountToken(false)
                .withTerminationGracePeriodSeconds((long) GRACE_SECONDS)
                .withNodeSelector(workers.getNodeSelector())
                .withTolerations(workers.getTolerations())
                .withSecurityContext(BatchPods.podSecurity())
                .withContainers(BatchPods.container("worker", image, config, args, env, mounts,
                        workers.getCpu(), workers.getMemory()))
                .withVolumes(volumes)
                .endSpec().endTemplate().endSpec().build();
        // spec.workers.template: validated by PodTemplateRules before any Job is built
        job.getSpec().setTemplate(PodTemplateMerge.merge(job.getSpec().getTemplate(), workers.getTemplate(), false));
        return job;
    }

    @Override
    void applyMutable(Job job, TaskBatch batch, Context<TaskBatch> context) {
        WorkerSizer.Decision sizing = context.managedWorkflowAndDependentResourceContext()
                .get(SIZING, WorkerSizer.Decision.class).orElse(null);
        Job actual = getSecondaryResource(batch, context).orElse(null);
        // a Job Kueue holds is never updated (BatchJobDependent.match): what is set here counts at creation and after
        if (sizing != null) {
            job.getSpec().setParallelism(sizing.replicas());
        } else if (actual != null) {
            // not sized in this reconciliation: keep what runs
            job.getSpec().setParallelism(actual.getSpec().getParallelism());
        }
        // cancelled: no worker starts another task; the master marks what is left cancelled. A queued Job is created
        // suspended, for Kueue to admit
        boolean stop = batch.getSpec().isSuspend() || batch.getSpec().isCancel();
        if (actual == null) {
            job.getMetadata().getLabels().putAll(KueueAdmission.jobLabels(batch));
            job.getSpec().setSuspend(stop || KueueAdmission.queue(batch).isPresent());
        } else {
            job.getSpec().setSuspend(stop);
        }
    }

    /**
     * A queued batch that is suspended or cancelled has no worker Job: Kueue would unsuspend an admitted Job the
     * operator suspended, but deleting it deletes its Workload and frees the quota (and resuming queues it anew).
     */
    public static class Wanted implements Condition<Job, TaskBatch> {
        @Override
        public boolean isMet(DependentResource<Job, TaskBatch> dependent, TaskBatch batch, Context<TaskBatch> context) {
            boolean stopped = batch.getSpec().isSuspend() || batch.getSpec().isCancel();
            return !stopped || !KueueAdmission.queued(batch, dependent.getSecondaryResource(batch, context).orElse(null));
        }
    }

    /** Its pods go with it (a Job deleted with the API's default propagation for Jobs would orphan them). */
    @Override
    protected void handleDelete(TaskBatch batch, Job workers, Context<TaskBatch> context) {
        if (workers != null) context.getClient().resource(workers).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
    }
}
