package io.taskbatch.cli;

import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskSourceSpec;
import io.taskbatch.master.TaskSource;
import io.taskbatch.master.TaskSources;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.plan.Manifest;
import io.taskbatch.plan.ManifestLoader;
import io.taskbatch.plan.SpecValidator;
import io.taskbatch.plan.Violation;
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
        Manifest manifest = null;
        List<Violation> problems = new ArrayList<>();
        BatchPlan plan = null;
        try {
            manifest = ManifestLoader.load(file);
        } catch (InvalidManifestException e) {
            InvalidManifestException all = SpecValidator.withCrossFieldChecks(e, handlers.names());
            problems.addAll(all.violations());
            manifest = all.partial().orElse(null);
        }
        if (problems.isEmpty()) {
            try {
                plan = BatchPlan.of(manifest.batch(), handlers.names());
            } catch (InvalidManifestException e) {
                problems.addAll(e.violations());
            }
        }
        LocalResources resources = manifest == null ? null : new LocalResources(manifest, volumes);
        // what this machine must have for the source is one more problem to list with the others, not one for the next run
        TaskSourceSpec tasks = manifest == null || manifest.batch().getSpec() == null ? null : manifest.batch().getSpec().getTasks();
        if (tasks != null && problems.stream().noneMatch(v -> concernsTheSource(v.field()))) {
            try {
                resources.check(tasks);
            } catch (InvalidManifestException e) {
                problems.addAll(e.violations());
            }
        }
        if (!problems.isEmpty()) return report("invalid manifest " + file, new InvalidManifestException(problems), err);
        return new BatchFile(manifest, plan, resources);
    }

    private static boolean concernsTheSource(String field) {
        return field.equals("spec") || field.equals("spec.tasks") || field.startsWith("spec.tasks.");
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

    /** Fields of the spec that only shape the cluster's pods (a pod template, the master's pod), set in this batch. */
    List<String> clusterOnlyFields() {
        List<String> out = new ArrayList<>();
        if (plan.spec().getWorkers().getTemplate() != null) out.add("spec.workers.template");
        if (plan.spec().getMaster() != null) out.add("spec.master");
        return out;
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
        return BatchQueues.of(meta.getNamespace(), meta.getName(), meta.getUid()).withShards(shards());
    }

    /** spec.queues.shards (or --shards): how many task and result queues the batch uses. */
    int shards() {
        var queues = plan.spec().getQueues();
        return queues == null ? 1 : queues.getShards();
    }

    /** The retry queues' delays: index 0 is the wait after attempt 1 (the last queue's serves every later attempt). */
    List<Duration> retryDelays() {
        List<Duration> delays = new ArrayList<>();
        int queues = BatchQueues.retryQueues(plan.retry().maxAttempts());
        for (int attempt = 1; attempt <= queues; attempt++) delays.add(plan.retry().delayAfter(attempt));
        return delays;
    }
}
