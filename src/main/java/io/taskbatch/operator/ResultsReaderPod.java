package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.taskbatch.api.TaskBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The short-lived pod that reads a batch's results from its claim for {@code taskbatch results}: our image
 * running {@code read-results}, the claim mounted read-only where the master has it, restricted like the
 * operator's own pods, no API token, and owned by the TaskBatch so that a pod the CLI could not delete goes
 * with the batch.
 */
public final class ResultsReaderPod {
    public static final String CONTAINER = "reader";
    public static final String COMPONENT = "results-reader";
    /** Who made it: the CLI, not the operator (whose informers select {@link BatchLabels#MANAGED_SELECTOR}). */
    public static final String MANAGED_BY = "taskbatch-cli";
    /** The reader is done in seconds; one left behind (its CLI killed) stops by itself. */
    static final long DEADLINE_SECONDS = 3600;

    private ResultsReaderPod() {
    }

    /** Where the results file is inside the master's pod, and so inside the reader's. */
    public static String resultsFile(TaskBatch batch) {
        return BatchPods.RESULTS_CLAIM_DIR + "/" + MasterJobDependent.resultsPath(batch);
    }

    /** The results file's path inside the claim ({@code spec.results.path}, by default {@code <name>.jsonl}). */
    public static String pathOnClaim(TaskBatch batch) {
        return MasterJobDependent.resultsPath(batch);
    }

    /** The master Job's name: its container's image is the reader's. */
    public static String masterJob(TaskBatch batch) {
        return BatchLabels.masterJob(batch);
    }

    /** The master's container of that Job, when it has one. */
    public static Optional<Container> masterContainer(Job master) {
        if (master == null || master.getSpec() == null || master.getSpec().getTemplate() == null
                || master.getSpec().getTemplate().getSpec() == null) {
            return Optional.empty();
        }
        return master.getSpec().getTemplate().getSpec().getContainers().stream().findFirst();
    }

    /**
     * The pod, named {@code <batch>-results-} plus a suffix the API server picks.
     *
     * @param pullPolicy the master container's, so a locally loaded image (kind) is found the same way; may be null
     */
    public static Pod build(TaskBatch batch, String image, String pullPolicy, boolean failedOnly) {
        var meta = batch.getMetadata();
        List<String> args = new ArrayList<>(List.of("read-results", "--file", resultsFile(batch)));
        if (failedOnly) args.add("--failed");
        return new PodBuilder()
                .withNewMetadata().withGenerateName(meta.getName() + "-results-").withNamespace(meta.getNamespace())
                .withLabels(Map.of(BatchLabels.NAME, BatchLabels.APP, BatchLabels.INSTANCE, meta.getName(),
                        BatchLabels.COMPONENT, COMPONENT, BatchLabels.MANAGED_BY, MANAGED_BY, BatchLabels.BATCH, meta.getName()))
                // not the controller and not blocking deletion: only garbage collection of a pod left behind
                .addNewOwnerReference().withApiVersion(TaskBatch.API_VERSION).withKind(TaskBatch.KIND)
                .withName(meta.getName()).withUid(meta.getUid()).endOwnerReference()
                .endMetadata()
                .withNewSpec()
                .withRestartPolicy("Never")
                .withActiveDeadlineSeconds(DEADLINE_SECONDS)
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withSecurityContext(BatchPods.podSecurity())
                .addNewContainer().withName(CONTAINER).withImage(image).withImagePullPolicy(pullPolicy).withArgs(args)
                .withNewResources()
                .addToRequests("cpu", new Quantity("100m")).addToRequests("memory", new Quantity("256Mi"))
                .addToLimits("memory", new Quantity("256Mi"))
                .endResources()
                .addNewVolumeMount().withName("results").withMountPath(BatchPods.RESULTS_CLAIM_DIR).withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath(BatchPods.TMP).endVolumeMount()
                .withSecurityContext(BatchPods.containerSecurity())
                .endContainer()
                .addNewVolume().withName("results").withNewPersistentVolumeClaim()
                .withClaimName(batch.getSpec().getResults().getClaimName()).withReadOnly(true).endPersistentVolumeClaim().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec().build();
    }
}
