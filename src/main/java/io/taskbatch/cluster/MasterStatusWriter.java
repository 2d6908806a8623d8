package io.taskbatch.cluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Progress;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.queue.ResultMessage;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import org.jboss.logging.Logger;

/**
 * The master's side of the status: counts, rate and the first failures about once a second, and at
 * the end the outcome. It writes only the master's fields ({@link OwnedStatusFields}), so it never
 * fights the operator.
 */
public final class MasterStatusWriter implements ProgressListener {
    private static final Logger LOG = Logger.getLogger(MasterStatusWriter.class);
    /** The outcome reason of a batch cancelled with {@code spec.cancel} (each cancelled line says it too). */
    public static final String CANCELLED = "the user cancelled the batch (spec.cancel)";
    static final int MAX_FAILED_TASKS = 10;
    private static final int MAX_ERROR = 300;
    /** Tries to write the outcome before the master fails (and its restart tells it again). */
    private static final int MAX_OUTCOME_WRITES = 5;

    /** Stores the results somewhere before the outcome is told; returns where, for the status. */
    @FunctionalInterface
    public interface ResultsPublisher {
        String publish(Progress progress);
    }

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private final String startTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    private final ResultsPublisher results;
    private final String resultsWhile;
    private long lastDone = -1;
    private long lastNanos;
    private volatile Runnable onCancel = () -> { };
    private int round;
    private boolean cancelTold;

    /** @param resultsWhile where results are while the batch runs (the final place comes from {@code results}) */
    public MasterStatusWriter(KubernetesClient client, String namespace, String name, String resultsWhile,
                              ResultsPublisher results) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
        this.resultsWhile = resultsWhile;
        this.results = results;
    }

    /** Tells the counts and outcome as those of {@code round} (0, the first run, unless this is a redrive). */
    public MasterStatusWriter inRound(int round) {
        this.round = round;
        return this;
    }

    /**
     * What to do once the batch's {@code spec.cancel} is true: the answer to each progress write carries the whole
     * TaskBatch, so the master learns of a cancel within a progress interval without a request of its own.
     */
    public MasterStatusWriter onCancel(Runnable action) {
        this.onCancel = action;
        return this;
    }

    @Override
    public void onProgress(Progress progress) {
        try {
            TaskBatch now = write(fields(progress, resultsWhile));
            if (!cancelTold && now != null && now.getSpec() != null && now.getSpec().isCancel()) {
                cancelTold = true;
                LOG.infof("%s/%s is cancelled (spec.cancel): no task is started any more", namespace, name);
                onCancel.run();
            }
        } catch (KubernetesClientException e) {
            // progress is reported again in a second; the batch must not stop over a status write
            LOG.warnf("cannot report progress of %s/%s: %s", namespace, name, e.getMessage());
        }
    }

    @Override
    public void onFinish(BatchOutcome outcome) {
        String where = results.publish(outcome.progress());
        TaskBatchStatus s = fields(outcome.progress(), where);
        s.setRate(String.format(Locale.ROOT, "%.0f/s", outcome.progress().averageRate()));
        // over: nothing left to wait for (0s), or stopped early with tasks never run (no time left to tell)
        s.setEta(outcome.progress().total() >= 0 && outcome.progress().done() >= outcome.progress().total() ? "0s" : null);
        s.setOutcome(outcome.succeeded() ? "Succeeded" : "Failed");
        s.setOutcomeReason(outcome.reason());
        // the outcome must reach the API: failing here fails the master, whose restart resumes and tells it again
        for (int attempt = 1; ; attempt++) {
            try {
                write(s);
                return;
            } catch (KubernetesClientException e) {
                if (attempt == MAX_OUTCOME_WRITES) throw e;
                LOG.warnf("cannot write the outcome of %s/%s yet (%s); trying again", namespace, name, e.getMessage());
                sleepBeforeTry(attempt);
            }
        }
    }

    private static void sleepBeforeTry(int attempt) {
        try {
            Thread.sleep(500L << Math.min(attempt, 4));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubernetesClientException("interrupted while writing the outcome");
        }
    }

    private TaskBatchStatus fields(Progress p, String where) {
        TaskBatchStatus s = new TaskBatchStatus();
        if (p.publishingDone() || p.total() >= 0) s.setTotal(p.total() >= 0 ? p.total() : null);
        s.setPublished(p.published());
        s.setSucceeded(p.succeeded());
        s.setFailed(p.failed());
        s.setRetried(p.retried());
        s.setDead(p.dead());
        s.setCancelled(p.cancelled() > 0 ? p.cancelled() : null);
        s.setRound(round);
        s.setDone(p.done() + "/" + (p.total() >= 0 ? Long.toString(p.total()) : "?"));
        s.setStartTime(startTime);
        s.setResults(where);
        double rate = rate(p);
        s.setRate(String.format(Locale.ROOT, "%.0f/s", rate));
        s.setEta(eta(p.done(), p.total(), rate));
        List<ResultMessage> failures = p.firstFailures();
        if (failures != null && !failures.isEmpty()) {
            s.setFailedTasks(failures.stream().limit(MAX_FAILED_TASKS).map(MasterStatusWriter::failedTask).toList());
        }
        return s;
    }

    /** Tasks per second since the last report, so the column shows the batch's pace now. */
    private double rate(Progress p) {
        long now = System.nanoTime();
        double rate = lastDone < 0 ? p.averageRate() : (p.done() - lastDone) / Math.max(1e-9, (now - lastNanos) / 1e9);
        lastDone = p.done();
        lastNanos = now;
        return rate;
    }

    /**
     * Time left at {@code rate} tasks per second, as kubectl prints durations (45s, 3m10s, 2h5m), rounded
     * up to the second; {@code 0s} when every task is done; null while the total is unknown ({@code -1})
     * or nothing finishes (rate 0), since no time can be told then.
     */
    static String eta(long done, long total, double rate) {
        if (total < 0) return null;
        long left = total - done;
        if (left <= 0) return "0s";
        if (!(rate > 0) || Double.isInfinite(rate)) return null;
        double seconds = Math.ceil(left / rate);
        if (seconds >= Long.MAX_VALUE) return null;
        long s = (long) seconds;
        if (s < 60) return s + "s";
        if (s < 3600) return (s / 60) + "m" + (s % 60) + "s";
        return (s / 3600) + "h" + (s % 3600 / 60) + "m";
    }

    private static TaskBatchStatus.FailedTask failedTask(ResultMessage r) {
        TaskBatchStatus.FailedTask t = new TaskBatchStatus.FailedTask();
        t.setId(r.id());
        t.setInput(r.input());
        String error = r.error() == null ? "" : r.error();
        t.setError(error.length() > MAX_ERROR ? error.substring(0, MAX_ERROR) + "…" : error);
        t.setAttempts(r.attempts());
        return t;
    }

    private TaskBatch write(TaskBatchStatus s) {
        return OwnedStatusFields.of(s, TaskBatchStatus.MASTER_FIELDS).writeTo(client, namespace, name);
    }
}
