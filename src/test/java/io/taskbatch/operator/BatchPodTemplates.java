package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.taskbatch.api.TaskBatch;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The pod templates the operator builds for a batch's master and worker Jobs, with its default settings, for tests
 * outside this package (the chart's PodMonitor must select exactly these pods).
 */
public final class BatchPodTemplates {
    private BatchPodTemplates() {
    }

    /** An example manifest under k8s/examples, as the API server would hand it to the operator. */
    public static TaskBatch example(String file) throws Exception {
        return PodTemplatesTest.applied(Path.of("k8s", "examples", file));
    }

    public static PodTemplateSpec master(TaskBatch batch) {
        return new MasterJobDependent(PodTemplatesTest.DEFAULTS).build(batch, null).getSpec().getTemplate();
    }

    public static PodTemplateSpec worker(TaskBatch batch) {
        return new WorkerJobDependent(PodTemplatesTest.DEFAULTS).build(batch, null).getSpec().getTemplate();
    }

    /** How long done pods keep serving their metrics when nothing configures it (OperatorConfig's default). */
    public static Duration defaultMetricsLinger() throws NoSuchMethodException {
        String value = OperatorConfig.class.getMethod("metricsLinger")
                .getAnnotation(io.smallrye.config.WithDefault.class).value();
        return Duration.parse("PT" + value.toUpperCase(java.util.Locale.ROOT));
    }
}
