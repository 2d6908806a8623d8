package io.taskbatch.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Progress;
import io.taskbatch.operator.BatchStatusAggregator;
import io.taskbatch.queue.ResultMessage;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Objects;

/**
 * Follows a batch on the cluster through its status, read once a second (the master writes it about as
 * often), and shows it with the {@link ProgressPrinter} of {@code taskbatch run}: the live line while it runs,
 * the summary (and the first failures) once the operator has decided it.
 */
final class BatchWatch {
    static final Duration POLL = Duration.ofSeconds(1);
    /** How long the API may stay out of reach during a watch before the command gives up (exit 3). */
    static final Duration OUT_OF_REACH = Duration.ofSeconds(30);

    private BatchWatch() {
    }

    /** @return 0 when the batch succeeded, 1 when it failed or was deleted, 2 when there is none, 3 when the API is out of reach */
    static int follow(KubernetesClient client, String namespace, String name, ProgressPrinter.Mode mode, PrintWriter err)
            throws InterruptedException {
        ProgressPrinter printer = new ProgressPrinter(name, err, mode);
        long started = System.nanoTime();
        long failingSince = 0;
        boolean seen = false;
        boolean painted = false;
        String lastPhase = null;
        while (true) {
            TaskBatch batch;
            try {
                batch = client.resources(TaskBatch.class).inNamespace(namespace).withName(name).get();
                failingSince = 0;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                ClusterCalls.Failed f = ClusterCalls.failed(client, e);
                if (f.exitCode != ExitCodes.UNAVAILABLE || !seen) return ClusterCalls.report(f, err);
                if (failingSince == 0) failingSince = System.nanoTime();
                if (System.nanoTime() - failingSince > OUT_OF_REACH.toNanos()) return ClusterCalls.report(f, err);
                Thread.sleep(POLL.toMillis());
                continue;
            }
            if (batch == null) {
                if (!seen) return ClusterCalls.report(new ClusterCalls.Failed(ExitCodes.INVALID,
                        "there is no TaskBatch \"" + name + "\" in namespace " + namespace), err);
                err.println("TaskBatch " + namespace + "/" + name + " was deleted before it finished");
                err.flush();
                return ExitCodes.FAILED;
            }
            seen = true;
            if (!painted) {
                printer.start();
                painted = true;
            }
            TaskBatchStatus s = batch.getStatus() == null ? new TaskBatchStatus() : batch.getStatus();
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            if (BatchStatusAggregator.finished(s.getPhase())) {
                boolean succeeded = BatchStatusAggregator.SUCCEEDED.equals(s.getPhase());
                String reason = Objects.requireNonNullElse(s.getOutcomeReason(), Objects.requireNonNullElse(s.getMessage(), "failed"));
                printer.onFinish(new BatchOutcome(succeeded, succeeded ? null : reason, progress(s, ran(s, elapsed))));
                return succeeded ? ExitCodes.SUCCEEDED : ExitCodes.FAILED;
            }
            if (!Objects.equals(lastPhase, s.getPhase()) && s.getPhase() != null) {
                lastPhase = s.getPhase();
                printer.note(s.getPhase() + (s.getMessage() == null ? "" : ": " + s.getMessage()));
            }
            if (s.getSucceeded() != null || s.getTotal() != null) printer.onProgress(progress(s, elapsed));
            Thread.sleep(POLL.toMillis());
        }
    }

    /** The status's counts as the local engine reports them. */
    static Progress progress(TaskBatchStatus s, Duration elapsed) {
        long succeeded = nz(s.getSucceeded());
        long failed = nz(s.getFailed());
        List<ResultMessage> failures = s.getFailedTasks() == null ? List.of() : s.getFailedTasks().stream()
                .map(f -> new ResultMessage(f.getId(), f.getInput(), ResultMessage.Status.FAILED, null, f.getError(),
                        f.getAttempts(), 0, null, false, null)).toList();
        // the status has no duplicate or rejected counts: the master's log and metrics tell those
        return new Progress(s.getTotal() == null ? -1 : s.getTotal(), nz(s.getPublished()), s.getTotal() != null,
                succeeded, failed, nz(s.getRetried()), nz(s.getDead()), 0, 0, nz(s.getCancelled()), elapsed, failures);
    }

    /** How long the batch ran, by the cluster's clock (start to completion); {@code fallback} when it cannot tell. */
    private static Duration ran(TaskBatchStatus s, Duration fallback) {
        try {
            if (s.getStartTime() != null && s.getCompletionTime() != null) {
                Duration d = Duration.between(Instant.parse(s.getStartTime()), Instant.parse(s.getCompletionTime()));
                if (!d.isNegative()) return d;
            }
        } catch (DateTimeParseException e) {
            // a clock we cannot read: ours will do
        }
        return fallback;
    }

    private static long nz(Long v) {
        return v == null ? 0 : v;
    }
}
