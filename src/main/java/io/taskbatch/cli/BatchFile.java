package io.taskbatch.cli;

import io.taskbatch.api.TaskBatch;
import io.taskbatch.master.TaskSource;
import io.taskbatch.master.TaskSources;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.plan.Manifest;
import io.taskbatch.plan.ManifestLoader;
import io.taskbatch.plan.SpecValidator;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.worker.TaskExecutor;
import io.taskbatch.worker.TaskExecutors;
import io.taskbatch.worker.TaskHandlers;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A manifest file, loaded and validated for one of the roles, with what the roles build from it. */
record BatchFile(Manifest manifest, BatchPlan plan, TaskSources.Resources resources) {

    /** Loads {@code file}; on a problem prints every violation to {@code err} and returns null. */
    static BatchFile load(Path file, Map<String, Path> volumes, TaskHandlers handlers, PrintWriter err) {
        try {
            Manifest manifest = ManifestLoader.load(file);
            BatchPlan plan = BatchPlan.of(manifest.batch(), handlers.names());
            LocalResources resources = new LocalResources(manifest, volumes);
            resources.check(plan.spec().getTasks());
            return new BatchFile(manifest, plan, resources);
        } catch (InvalidManifestException e) {
            return report("invalid manifest " + file, SpecValidator.withCrossFieldChecks(e, handlers.names()), err);
        }
    }

    /** Prints every violation under {@code what} and returns null, for the roles' "nothing was run" path. */
    static BatchFile report(String what, InvalidManifestException e, PrintWriter err) {
        err.println(what + ":");
        e.violations().forEach(v -> err.println("  " + v));
        err.flush();
        return null;
    }

    /** A batch read from the cluster, with what its pod has mounted; null after printing violations. */
    static BatchFile of(TaskBatch batch, TaskSources.Resources resources, TaskHandlers handlers, PrintWriter err) {
        String ref = batch.getMetadata().getNamespace() + "/" + batch.getMetadata().getName();
        try {
            return new BatchFile(new Manifest(batch, Map.of(), Path.of(ref)), BatchPlan.of(batch, handlers.names()), resources);
        } catch (InvalidManifestException e) {
            return report("invalid TaskBatch " + ref, e, err);
        }
    }

    int slots(Integer override) {
        return override != null ? override
                : plan.concurrency() > 0 ? plan.concurrency() : Runtime.getRuntime().availableProcessors();
    }

    TaskSource source() {
        return TaskSources.create(plan.spec().getTasks(), resources);
    }

    TaskExecutor executor(TaskHandlers handlers, int slots) {
        Map<String, String> env = plan.spec().getWorkers().getEnv();
        return TaskExecutors.create(plan.spec().getRun(), handlers, slots, null, env == null ? Map.of() : env, plan.id());
    }

    BatchQueues queues() {
        var meta = manifest.batch().getMetadata();
        return BatchQueues.of(meta.getNamespace(), meta.getName(), meta.getUid());
    }

    /** The retry queues' delays: index 0 is the wait after attempt 1. */
    List<Duration> retryDelays() {
        List<Duration> delays = new ArrayList<>();
        for (int attempt = 1; attempt < plan.retry().maxAttempts(); attempt++) delays.add(plan.retry().delayAfter(attempt));
        return delays;
    }
}
