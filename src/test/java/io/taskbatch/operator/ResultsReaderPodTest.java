package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.packaging.PodSecurity;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The reader pod of {@code taskbatch results}: restricted, no token, the claim read-only, owned by its batch. */
class ResultsReaderPodTest {

    @Test
    void theReaderPodMayRunInARestrictedNamespaceAndGoesWithItsBatch() throws Exception {
        TaskBatch batch = PodTemplatesTest.applied(Path.of("k8s", "examples", "squares.yaml"));
        batch.getMetadata().setNamespace("team-a");
        batch.getMetadata().setUid("0000-1111");
        batch.getSpec().getResults().setClaimName("out");
        batch.getSpec().getResults().setPath("/runs/squares.jsonl");
        Pod pod = ResultsReaderPod.build(batch, "registry.example/taskbatch:1", "IfNotPresent", true);

        assertThat(PodSecurity.restrictedViolations(pod.getSpec())).isEmpty();
        assertThat(PodSecurity.plainCredentials(pod.getSpec())).isEmpty();
        assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
        assertThat(pod.getMetadata().getGenerateName()).isEqualTo(batch.getMetadata().getName() + "-results-");
        assertThat(pod.getMetadata().getNamespace()).isEqualTo("team-a");
        assertThat(pod.getMetadata().getLabels()).containsEntry(BatchLabels.MANAGED_BY, ResultsReaderPod.MANAGED_BY)
                .containsEntry(BatchLabels.COMPONENT, ResultsReaderPod.COMPONENT);
        assertThat(pod.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getApiVersion()).isEqualTo(TaskBatch.API_VERSION);
            assertThat(o.getKind()).isEqualTo(TaskBatch.KIND);
            assertThat(o.getUid()).isEqualTo("0000-1111");
            assertThat(o.getBlockOwnerDeletion()).as("needs no update on the batch's finalizers").isNull();
        });
        var container = pod.getSpec().getContainers().get(0);
        assertThat(container.getImage()).isEqualTo("registry.example/taskbatch:1");
        assertThat(container.getArgs()).containsExactly("read-results", "--file", "/mnt/results/runs/squares.jsonl", "--failed");
        assertThat(container.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/mnt/results");
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(pod.getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("out");
            assertThat(v.getPersistentVolumeClaim().getReadOnly()).isTrue();
        });
        assertThat(ResultsReaderPod.resultsFile(batch)).as("where the master writes it").isEqualTo("/mnt/results/runs/squares.jsonl");
    }
}
