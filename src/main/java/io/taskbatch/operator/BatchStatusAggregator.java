package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.cluster.MasterStatusWriter;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns what the operator observed (validation, the Jobs, the master's outcome) into the operator's
 * part of the status: phase, conditions in the Kubernetes convention, workers, completion time.
 * A condition keeps its lastTransitionTime while its status stays the same.
 */
public final class BatchStatusAggregator {
    public static final String PENDING = "Pending";
    public static final String RUNNING = "Running";
    public static final String SUCCEEDED = "Succeeded";
    public static final String FAILED = "Failed";
    public static final String SUSPENDED = "Suspended";
    /** The reason a batch cancelled with {@code spec.cancel} is Failed for (as a cancelled Tekton run or Argo workflow). */
    public static final String CANCELLED = "Cancelled";

    /** The reason of a batch whose Job Kueue holds suspended until its queue admits it. */
    public static final String WAITING_FOR_ADMISSION = "WaitingForAdmission";

    public static final String VALID = "Valid";
    public static final String RECONCILED = "Reconciled";
    public static final String COMPLETE = "Complete";

    /** What one reconciliation saw. {@code invalid} is null for a valid spec; Jobs are null when absent. */
    public record Observed(TaskBatch batch, String invalid, Job master, Job workers, Instant now) {
    }

    private BatchStatusAggregator() {
    }

    public static boolean finished(String phase) {
        return SUCCEEDED.equals(phase) || FAILED.equals(phase);
    }

    /** The operator's fields of the new status (the master's fields are left null). */
    public static TaskBatchStatus aggregate(Observed o) {
        TaskBatchStatus old = o.batch().getStatus() == null ? new TaskBatchStatus() : o.batch().getStatus();
        long generation = o.batch().getMetadata().getGeneration() == null ? 0 : o.batch().getMetadata().getGeneration();
        // a new round starting: the outcome in the status is the decided round's, not this one's
        String outcome = BatchRounds.starting(o.batch()) ? null : old.getOutcome();
        String phase;
        String reason;
        String message;
        if (o.invalid() != null) {
            phase = FAILED;
            reason = "InvalidSpec";
            message = o.invalid();
        } else if (SUCCEEDED.equals(outcome)) {
            phase = SUCCEEDED;
            reason = "TasksSucceeded";
            message = "all " + nz(old.getTotal()) + " tasks done: " + nz(old.getSucceeded()) + " succeeded, "
                    + nz(old.getFailed()) + " failed";
        } else if (FAILED.equals(outcome)) {
            phase = FAILED;
            reason = MasterStatusWriter.CANCELLED.equals(old.getOutcomeReason()) ? CANCELLED : "TasksFailed";
            message = old.getOutcomeReason() != null ? old.getOutcomeReason() : "the master decided the batch failed";
        } else if (jobFailed(o.master())) {
            phase = FAILED;
            reason = "MasterFailed";
            message = "the master Job failed: " + jobFailure(o.master());
        } else if (jobFailed(o.workers())) {
            phase = FAILED;
            reason = "WorkersFailed";
            message = "the worker Job failed: " + jobFailure(o.workers());
        } else if (o.batch().getSpec().isCancel()) {
            // the master stores what arrived, marks the rest cancelled and tells the outcome
            phase = RUNNING;
            reason = "Cancelling";
            message = "cancelling (spec.cancel): workers stopped; the master marks the tasks not done cancelled";
        } else if (o.batch().getSpec().isSuspend()) {
            phase = SUSPENDED;
            reason = "Suspended";
            message = "suspended: workers stopped, queued tasks kept; set spec.suspend to false to go on";
        } else if (KueueAdmission.waitingForAdmission(o.workers()) || KueueAdmission.waitingForAdmission(o.master())) {
            // not the user's suspend: Kueue holds the Job until its queue admits it
            Job held = KueueAdmission.waitingForAdmission(o.workers()) ? o.workers() : o.master();
            phase = PENDING;
            reason = WAITING_FOR_ADMISSION;
            message = "waiting for Kueue to admit the " + (held == o.workers() ? "worker" : "master") + " Job "
                    + held.getMetadata().getName() + " in LocalQueue " + KueueAdmission.queue(held).orElseThrow()
                    + " (kubectl get workloads -n " + o.batch().getMetadata().getNamespace() + " shows it)";
        } else if (o.master() != null && o.master().getStatus() != null && nz(o.master().getStatus().getActive()) > 0) {
            phase = RUNNING;
            reason = "Running";
            message = "master running, " + workers(o.workers()) + " workers ready";
        } else {
            phase = PENDING;
            reason = o.master() == null ? "Creating" : "MasterStarting";
            message = o.master() == null ? "creating the Jobs" : "waiting for the master pod to start";
        }

        TaskBatchStatus s = new TaskBatchStatus();
        s.setPhase(phase);
        s.setMessage(message);
        s.setObservedGeneration(generation);
        List<Condition> conditions = new ArrayList<>();
        boolean valid = o.invalid() == null;
        conditions.add(condition(old, VALID, valid, valid ? "SpecValid" : "InvalidSpec",
                valid ? "the spec is valid" : o.invalid(), generation, o.now()));
        conditions.add(condition(old, RECONCILED, true, "Reconciled",
                valid ? "the Jobs and the master's identity are as the spec says" : "nothing to create for an invalid spec",
                generation, o.now()));
        conditions.add(condition(old, RUNNING, phase.equals(RUNNING), reason, message, generation, o.now()));
        conditions.add(condition(old, COMPLETE, phase.equals(SUCCEEDED), reason, message, generation, o.now()));
        conditions.add(condition(old, FAILED, phase.equals(FAILED), reason, message, generation, o.now()));
        conditions.add(condition(old, SUSPENDED, phase.equals(SUSPENDED), reason, message, generation, o.now()));
        s.setConditions(conditions);
        if (o.workers() != null) {
            // a finished batch wants no workers, whatever parallelism its Job was left with
            int desired = finished(phase) ? 0 : desired(o.workers());
            s.setDesiredWorkers(desired);
            s.setReadyWorkers(ready(o.workers()));
            s.setWorkers(ready(o.workers()) + "/" + desired);
        }
        if (finished(phase)) {
            s.setCompletionTime(old.getCompletionTime() != null && finished(old.getPhase()) ? old.getCompletionTime()
                    : o.now().truncatedTo(ChronoUnit.SECONDS).toString());
        }
        return s;
    }

    /**
     * The operator's fields of {@code old} with {@code Reconciled=False} saying why the last
     * reconciliation failed (a refused request, an unreachable API): the rest stays as it was.
     */
    public static TaskBatchStatus reconcileFailed(TaskBatch batch, String error, Instant now) {
        TaskBatchStatus old = batch.getStatus() == null ? new TaskBatchStatus() : batch.getStatus();
        long generation = batch.getMetadata().getGeneration() == null ? 0 : batch.getMetadata().getGeneration();
        TaskBatchStatus s = new TaskBatchStatus();
        s.setPhase(old.getPhase() == null ? PENDING : old.getPhase());
        s.setMessage(old.getMessage());
        s.setObservedGeneration(old.getObservedGeneration());
        s.setDesiredWorkers(old.getDesiredWorkers());
        s.setReadyWorkers(old.getReadyWorkers());
        s.setWorkers(old.getWorkers());
        s.setCompletionTime(old.getCompletionTime());
        List<Condition> conditions = new ArrayList<>();
        if (old.getConditions() != null) {
            old.getConditions().stream().filter(c -> !RECONCILED.equals(c.getType())).forEach(conditions::add);
        }
        conditions.add(condition(old, RECONCILED, false, "ReconcileError", error, generation, now));
        s.setConditions(conditions);
        return s;
    }

    private static Condition condition(TaskBatchStatus old, String type, boolean status, String reason, String message,
                                       long generation, Instant now) {
        String value = status ? "True" : "False";
        String since = now.truncatedTo(ChronoUnit.SECONDS).toString();
        if (old.getConditions() != null) {
            for (Condition c : old.getConditions()) {
                if (type.equals(c.getType()) && value.equals(c.getStatus()) && c.getLastTransitionTime() != null) {
                    since = c.getLastTransitionTime();
                }
            }
        }
        return new ConditionBuilder().withType(type).withStatus(value).withReason(reason).withMessage(message)
                .withObservedGeneration(generation).withLastTransitionTime(since).build();
    }

    static boolean jobFailed(Job job) {
        return job != null && job.getStatus() != null && job.getStatus().getConditions() != null
                && job.getStatus().getConditions().stream().anyMatch(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** Complete or Failed. */
    static boolean jobFinished(Job job) {
        return job != null && job.getStatus() != null && job.getStatus().getConditions() != null
                && job.getStatus().getConditions().stream().anyMatch(c -> ("Complete".equals(c.getType())
                || "Failed".equals(c.getType())) && "True".equals(c.getStatus()));
    }

    private static String jobFailure(Job job) {
        return job.getStatus().getConditions().stream().filter(c -> "Failed".equals(c.getType()))
                .map(c -> Objects.toString(c.getReason(), "") + (c.getMessage() == null ? "" : ": " + c.getMessage()))
                .findFirst().orElse("failed");
    }

    /** Ready pods among the active ones: a Job's {@code ready} can lag behind its pods ending. */
    private static int ready(Job workers) {
        if (workers == null || workers.getStatus() == null) return 0;
        return Math.min(nz(workers.getStatus().getReady()), nz(workers.getStatus().getActive()));
    }

    private static int desired(Job workers) {
        return workers == null ? 0 : nz(workers.getSpec().getParallelism());
    }

    /** Ready out of desired, as kubectl shows it. */
    private static String workers(Job workers) {
        return ready(workers) + "/" + desired(workers);
    }

    private static long nz(Long v) {
        return v == null ? 0 : v;
    }

    private static int nz(Integer v) {
        return v == null ? 0 : v;
    }
}
