package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Default;

/** What to run: a task source, an executor and the policies around them. */
public class TaskBatchSpec {
    @JsonPropertyDescription("Where the tasks come from: exactly one of items, range, configMap, files.")
    @Required
    private TaskSourceSpec tasks;

    @JsonPropertyDescription("How each task is run: exactly one of builtin, command, processPool.")
    @Required
    private RunSpec run;

    @JsonPropertyDescription("Worker pods: how many, how big, how many task slots each.")
    private WorkersSpec workers = new WorkersSpec();

    @JsonPropertyDescription("The master pod: its size and where it may run.")
    private MasterSpec master;

    @JsonPropertyDescription("Retries of a failed task, with exponential backoff.")
    private RetrySpec retry = new RetrySpec();

    @JsonPropertyDescription("Longest time one attempt of a task may run (e.g. 30s, 10m); it is killed after that.")
    @Default("10m")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String taskTimeout = "10m";

    @JsonPropertyDescription("When the whole batch counts as failed.")
    private FailurePolicySpec failurePolicy = new FailurePolicySpec();

    @JsonPropertyDescription("Where results go: by default a capped ConfigMap, or JSON Lines on a PersistentVolumeClaim.")
    private ResultsSpec results = new ResultsSpec();

    @JsonPropertyDescription("True pauses the batch: workers stop taking tasks until it is false again.")
    private boolean suspend;

    @JsonPropertyDescription("True cancels the batch for good: workers stop, tasks not done get a cancelled line in the "
            + "results (which are kept), and the batch ends Failed with reason Cancelled. It cannot be undone.")
    private boolean cancel;

    @JsonPropertyDescription("Runs again the failed, dead or cancelled tasks of a decided batch, as a new round "
            + "(taskbatch redrive sets it).")
    private RedriveSpec redrive;

    @JsonPropertyDescription("Seconds after the batch finished until the TaskBatch (and with it its Jobs and results ConfigMap) is deleted.")
    @Default("86400")
    @Min(0)
    private Long ttlSecondsAfterFinished = 86400L;

    @JsonPropertyDescription("The RabbitMQ broker to use; default: the operator's configured broker.")
    private BrokerSpec broker;

    @JsonPropertyDescription("How the batch's task and result queues are spread over the broker's nodes.")
    private QueuesSpec queues = new QueuesSpec();

    public TaskSourceSpec getTasks() { return tasks; }
    public void setTasks(TaskSourceSpec tasks) { this.tasks = tasks; }
    public RunSpec getRun() { return run; }
    public void setRun(RunSpec run) { this.run = run; }
    public WorkersSpec getWorkers() { return workers; }
    public void setWorkers(WorkersSpec workers) { this.workers = workers; }
    public MasterSpec getMaster() { return master; }
    public void setMaster(MasterSpec master) { this.master = master; }
    public RetrySpec getRetry() { return retry; }
    public void setRetry(RetrySpec retry) { this.retry = retry; }
    public String getTaskTimeout() { return taskTimeout; }
    public void setTaskTimeout(String taskTimeout) { this.taskTimeout = taskTimeout; }
    public FailurePolicySpec getFailurePolicy() { return failurePolicy; }
    public void setFailurePolicy(FailurePolicySpec failurePolicy) { this.failurePolicy = failurePolicy; }
    public ResultsSpec getResults() { return results; }
    public void setResults(ResultsSpec results) { this.results = results; }
    public boolean isSuspend() { return suspend; }
    public void setSuspend(boolean suspend) { this.suspend = suspend; }
    public RedriveSpec getRedrive() { return redrive; }
    public void setRedrive(RedriveSpec redrive) { this.redrive = redrive; }
    public boolean isCancel() { return cancel; }
    public void setCancel(boolean cancel) { this.cancel = cancel; }
    public Long getTtlSecondsAfterFinished() { return ttlSecondsAfterFinished; }
    public void setTtlSecondsAfterFinished(Long ttl) { this.ttlSecondsAfterFinished = ttl; }
    public BrokerSpec getBroker() { return broker; }
    public void setBroker(BrokerSpec broker) { this.broker = broker; }
    public QueuesSpec getQueues() { return queues; }
    public void setQueues(QueuesSpec queues) { this.queues = queues; }
}
