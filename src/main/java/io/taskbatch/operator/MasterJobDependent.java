package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.taskbatch.api.MasterSpec;
import io.taskbatch.api.ResultsSpec;
import io.taskbatch.api.TaskBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * The master: one pod, restarted in place on failure. Its checkpoint lives in an emptyDir, which
 * survives container restarts, or beside the results on their claim, which survives losing the pod.
 */
@KubernetesDependent(informer = @Informer(labelSelector = BatchLabels.MANAGED_SELECTOR + "," + BatchLabels.COMPONENT + "="
        + BatchLabels.MASTER))
public class MasterJobDependent extends BatchJobDependent {
    static final int BACKOFF_LIMIT = 6;

    public MasterJobDependent() {
    }

    MasterJobDependent(OperatorConfig config) {
        super(config);
    }

    @Override
    String name(TaskBatch batch) {
        return BatchLabels.masterJob(batch);
    }

    @Override
    Job build(TaskBatch batch, Context<TaskBatch> context) {
        var spec = batch.getSpec();
        List<Volume> volumes = new ArrayList<>();
        List<VolumeMount> mounts = new ArrayList<>();
        List<EnvVar> env = new ArrayList<>(List.of(BatchPods.brokerUri(batch, config)));
        BatchPods.commonVolumes(spec, volumes, mounts, env);
        List<String> args = new ArrayList<>(List.of("master", "--batch", BatchPods.batchRef(batch), "--progress", "plain"));
        int round = BatchRounds.current(batch);
        if (round > 0) {
            // a redrive: the tasks whose results are of the kinds selected run again, the other results are kept
            args.addAll(List.of("--round", Integer.toString(round), "--redrive", String.join(",", spec.getRedrive().getSelect())));
        }
        ResultsSpec results = spec.getResults();
        if (results.getClaimName() != null) {
            volumes.add(new VolumeBuilder().withName("results").withNewPersistentVolumeClaim()
                    .withClaimName(results.getClaimName()).endPersistentVolumeClaim().build());
            mounts.add(new VolumeMountBuilder().withName("results").withMountPath(BatchPods.RESULTS_CLAIM_DIR).build());
            String file = BatchPods.RESULTS_CLAIM_DIR + "/" + resultsPath(batch);
            args.addAll(List.of("--output", file, "--state-dir", file + ".state"));
        } else {
            volumes.add(new VolumeBuilder().withName("state").withNewEmptyDir().endEmptyDir().build());
            mounts.add(new VolumeMountBuilder().withName("state").withMountPath(BatchPods.STATE_DIR).build());
            args.addAll(List.of("--state-dir", BatchPods.STATE_DIR + "/state",
                    "--results-configmap", BatchLabels.resultsConfigMap(batch),
                    "--results-max-bytes", Integer.toString(config.resultsConfigMapMaxBytes())));
        }
        MasterSpec master = spec.getMaster() != null ? spec.getMaster() : new MasterSpec();
        Job job = new JobBuilder()
                .withNewMetadata().withName(name(batch)).withNamespace(batch.getMetadata().getNamespace())
                .withLabels(BatchLabels.of(batch, BatchLabels.MASTER)).endMetadata()
                .withNewSpec().withCompletions(1).withParallelism(1).withBackoffLimit(BACKOFF_LIMIT)
                .withNewTemplate()
                .withNewMetadata().withLabels(BatchLabels.of(batch, BatchLabels.MASTER)).endMetadata()
                .withNewSpec()
                .withRestartPolicy("OnFailure")
                .withServiceAccountName(BatchLabels.masterIdentity(batch))
                .withAutomountServiceAccountToken(true)
                .withSecurityContext(BatchPods.podSecurity())
                .withNodeSelector(master.getNodeSelector())
                .withTolerations(master.getTolerations())
                .withAffinity(master.getAffinity())
                .withPriorityClassName(master.getPriorityClassName())
                .withContainers(BatchPods.container("master", config.image(), config, args, env, mounts,
                        master.getCpu() != null ? master.getCpu() : config.masterCpu(),
                        master.getMemory() != null ? master.getMemory() : config.masterMemory()))
                .withVolumes(volumes)
                .endSpec().endTemplate().endSpec().build();
        // spec.master.template: validated by PodTemplateRules before any Job is built; its ServiceAccount stays ours
        job.getSpec().setTemplate(PodTemplateMerge.merge(job.getSpec().getTemplate(), master.getTemplate(), true));
        return job;
    }

    /** The results file inside the claim: {@code spec.results.path}, by default {@code <name>.jsonl}. */
    static String resultsPath(TaskBatch batch) {
        String path = batch.getSpec().getResults().getPath();
        String relative = path == null || path.isBlank() ? batch.getMetadata().getName() + ".jsonl" : path;
        return relative.startsWith("/") ? relative.substring(1) : relative;
    }

    @Override
    void applyMutable(Job job, TaskBatch batch, Context<TaskBatch> context) {
        // the master keeps running while the batch is suspended: its ledger lives in the pod. It is not queued in
        // Kueue; if Kueue holds it anyway (a LocalQueue "default" its webhook put on it), it is Kueue's to unsuspend
        // (BatchJobDependent.match leaves it alone)
        job.getSpec().setSuspend(false);
    }
}
