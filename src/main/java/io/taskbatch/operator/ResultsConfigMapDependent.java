package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.javaoperatorsdk.operator.api.config.informer.InformerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResourceConfigBuilder;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.cluster.ResultsConfigMapWriter;

/**
 * The results ConfigMap, created empty by the operator so that the master's Role can name it; the
 * master fills it. Created only, never updated: what the master wrote stays.
 */
public class ResultsConfigMapDependent extends KubernetesDependentResource<ConfigMap, TaskBatch>
        implements Creator<ConfigMap, TaskBatch>, GarbageCollected<TaskBatch> {
    static final String KEY = ResultsConfigMapWriter.KEY;

    /** Only batches that keep their results in a ConfigMap (no claim) have one. */
    static final Condition<ConfigMap, TaskBatch> WANTED =
            (dependent, batch, context) -> batch.getSpec().getResults().getClaimName() == null;

    public ResultsConfigMapDependent() {
        super(ConfigMap.class);
        configureWith(new KubernetesDependentResourceConfigBuilder<ConfigMap>()
                .withKubernetesDependentInformerConfig(InformerConfiguration.builder(ConfigMap.class)
                        .withLabelSelector(BatchLabels.MANAGED_SELECTOR).build())
                .build());
    }

    @Override
    protected ConfigMap desired(TaskBatch batch, Context<TaskBatch> context) {
        return new ConfigMapBuilder().withNewMetadata().withName(BatchLabels.resultsConfigMap(batch))
                .withNamespace(batch.getMetadata().getNamespace()).withLabels(BatchLabels.of(batch, "results"))
                .endMetadata().addToData(KEY, "").build();
    }
}
