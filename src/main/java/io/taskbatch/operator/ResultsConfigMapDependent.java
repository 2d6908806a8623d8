package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ResultsConfigMapWriter;

/**
 * The results ConfigMap, created empty by the operator so that the master's Role can name it; the
 * master fills it. Created only, never updated: what the master wrote stays.
 */
@KubernetesDependent(informer = @Informer(labelSelector = BatchLabels.MANAGED_SELECTOR))
public class ResultsConfigMapDependent extends KubernetesDependentResource<ConfigMap, TaskBatch>
        implements Creator<ConfigMap, TaskBatch>, GarbageCollected<TaskBatch> {
    static final String KEY = ResultsConfigMapWriter.KEY;

    /** Only batches that keep their results in a ConfigMap (no claim) have one. */
    public static class Wanted implements Condition<ConfigMap, TaskBatch> {
        @Override
        public boolean isMet(DependentResource<ConfigMap, TaskBatch> dependent, TaskBatch batch, Context<TaskBatch> context) {
            return batch.getSpec().getResults().getClaimName() == null;
        }
    }

    public ResultsConfigMapDependent() {
        super(ConfigMap.class);
    }

    @Override
    protected ConfigMap desired(TaskBatch batch, Context<TaskBatch> context) {
        return new ConfigMapBuilder().withNewMetadata().withName(BatchLabels.resultsConfigMap(batch))
                .withNamespace(batch.getMetadata().getNamespace()).withLabels(BatchLabels.of(batch, "results"))
                .endMetadata().addToData(KEY, "").build();
    }
}
