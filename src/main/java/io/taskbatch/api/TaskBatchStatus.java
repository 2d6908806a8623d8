package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.crd.generator.annotation.PrinterColumn;
import io.fabric8.kubernetes.api.model.Condition;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;
import java.util.Set;

/**
 * What the batch is doing, as kubectl shows it. Two writers share it and each patches only its own
 * fields ({@link #OPERATOR_FIELDS}, {@link #MASTER_FIELDS}), so a stale write of one never rolls
 * back the other's.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TaskBatchStatus {
    /** Written by the operator: the lifecycle, from validation, Jobs and the master's outcome. */
    public static final Set<String> OPERATOR_FIELDS = Set.of("phase", "conditions", "observedGeneration",
            "desiredWorkers", "readyWorkers", "workers", "completionTime", "message");
    /** Written by the master about once a second: the counts and what it knows of the tasks. */
    public static final Set<String> MASTER_FIELDS = Set.of("total", "published", "succeeded", "failed", "retried",
            "dead", "cancelled", "round", "done", "rate", "eta", "startTime", "results", "failedTasks", "outcome", "outcomeReason");

    @JsonPropertyDescription("Pending, Running, Succeeded, Failed or Suspended.")
    @PrinterColumn(name = "PHASE", priority = 0)
    private String phase;
    @JsonPropertyDescription("Valid, Reconciled, Running, Complete, Failed and Suspended, in the Kubernetes convention.")
    private List<Condition> conditions;
    @JsonPropertyDescription("Why the batch is in its phase, in one line.")
    @PrinterColumn(name = "MESSAGE", priority = 1)
    private String message;
    @JsonPropertyDescription("How the master decided the batch: Succeeded or Failed; empty while it runs.")
    private String outcome;
    @JsonPropertyDescription("Why the master decided the batch failed.")
    private String outcomeReason;
    @JsonPropertyDescription("Number of tasks; unset while the master is still counting them.")
    private Long total;
    @JsonPropertyDescription("Tasks the master has put on the task queue.")
    private Long published;
    @JsonPropertyDescription("Tasks that succeeded.")
    private Long succeeded;
    @JsonPropertyDescription("Tasks that failed for good (after their retries), dead ones included.")
    @PrinterColumn(name = "FAILED")
    private Long failed;
    @JsonPropertyDescription("Retries made: attempts beyond the first, over all tasks.")
    private Long retried;
    @JsonPropertyDescription("Tasks that never gave a result (their worker died each time, or the message was malformed).")
    private Long dead;
    @JsonPropertyDescription("Tasks that never ran because the batch stopped first (cancelled, or failed by its failure "
            + "policy); each has a cancelled line in the results. Unset when none.")
    private Long cancelled;
    @JsonPropertyDescription("The round these counts and the outcome are of: 0 for the first run, then one more for "
            + "each redrive.")
    private Integer round;
    @JsonPropertyDescription("Done out of total, as kubectl shows it.")
    @PrinterColumn(name = "DONE")
    private String done;
    @JsonPropertyDescription("Worker pods the worker Job asks for.")
    private Integer desiredWorkers;
    @JsonPropertyDescription("Worker pods running and ready.")
    private Integer readyWorkers;
    @JsonPropertyDescription("Ready out of desired worker pods, as kubectl shows it.")
    @PrinterColumn(name = "WORKERS")
    private String workers;
    @JsonPropertyDescription("When the master started the batch.")
    private String startTime;
    @JsonPropertyDescription("When the batch finished (succeeded or failed).")
    private String completionTime;
    @JsonPropertyDescription("Tasks finished per second, lately.")
    @PrinterColumn(name = "RATE")
    private String rate;
    @JsonPropertyDescription("Time left at the current rate (e.g. 45s, 3m10s); 0s when all tasks are done, unset while the total or the rate is unknown.")
    @PrinterColumn(name = "ETA")
    private String eta;
    @JsonPropertyDescription("Where the results are, and how many were kept.")
    private String results;
    @JsonPropertyDescription("The first tasks that failed for good, with their errors.")
    private List<FailedTask> failedTasks;
    @JsonPropertyDescription("The spec generation this status describes.")
    private Long observedGeneration;

    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
    public String getOutcome() { return outcome; }
    public void setOutcome(String outcome) { this.outcome = outcome; }
    public String getOutcomeReason() { return outcomeReason; }
    public void setOutcomeReason(String outcomeReason) { this.outcomeReason = outcomeReason; }
    public String getPhase() { return phase; }
    public void setPhase(String phase) { this.phase = phase; }
    public List<Condition> getConditions() { return conditions; }
    public void setConditions(List<Condition> conditions) { this.conditions = conditions; }
    public Long getTotal() { return total; }
    public void setTotal(Long total) { this.total = total; }
    public Long getPublished() { return published; }
    public void setPublished(Long published) { this.published = published; }
    public Long getSucceeded() { return succeeded; }
    public void setSucceeded(Long succeeded) { this.succeeded = succeeded; }
    public Long getFailed() { return failed; }
    public void setFailed(Long failed) { this.failed = failed; }
    public Long getRetried() { return retried; }
    public void setRetried(Long retried) { this.retried = retried; }
    public Long getDead() { return dead; }
    public void setDead(Long dead) { this.dead = dead; }
    public Integer getRound() { return round; }
    public void setRound(Integer round) { this.round = round; }
    public Long getCancelled() { return cancelled; }
    public void setCancelled(Long cancelled) { this.cancelled = cancelled; }
    public String getDone() { return done; }
    public void setDone(String done) { this.done = done; }
    public Integer getDesiredWorkers() { return desiredWorkers; }
    public void setDesiredWorkers(Integer desiredWorkers) { this.desiredWorkers = desiredWorkers; }
    public Integer getReadyWorkers() { return readyWorkers; }
    public void setReadyWorkers(Integer readyWorkers) { this.readyWorkers = readyWorkers; }
    public String getWorkers() { return workers; }
    public void setWorkers(String workers) { this.workers = workers; }
    public String getStartTime() { return startTime; }
    public void setStartTime(String startTime) { this.startTime = startTime; }
    public String getCompletionTime() { return completionTime; }
    public void setCompletionTime(String completionTime) { this.completionTime = completionTime; }
    public String getRate() { return rate; }
    public void setRate(String rate) { this.rate = rate; }
    public String getEta() { return eta; }
    public void setEta(String eta) { this.eta = eta; }
    public String getResults() { return results; }
    public void setResults(String results) { this.results = results; }
    public List<FailedTask> getFailedTasks() { return failedTasks; }
    public void setFailedTasks(List<FailedTask> failedTasks) { this.failedTasks = failedTasks; }
    public Long getObservedGeneration() { return observedGeneration; }
    public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }

    /** One of the first tasks that failed for good, with why. */
    public static class FailedTask {
        @JsonPropertyDescription("The task's id: its position in the task source.")
        private long id;
        @JsonPropertyDescription("The task's input (a number, a string, a file path).")
        private String input;
        @JsonPropertyDescription("Why its last attempt failed, cut to 300 characters.")
        private String error;
        @JsonPropertyDescription("Attempts made, the first included.")
        private int attempts;

        public long getId() { return id; }
        public void setId(long id) { this.id = id; }
        public String getInput() { return input; }
        public void setInput(String input) { this.input = input; }
        public String getError() { return error; }
        public void setError(String error) { this.error = error; }
        public int getAttempts() { return attempts; }
        public void setAttempts(int attempts) { this.attempts = attempts; }
    }
}
