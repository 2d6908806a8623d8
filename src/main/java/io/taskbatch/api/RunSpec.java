package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Default;
import java.util.List;

/** Exactly one executor for the batch's tasks. */
@ValidationRule(value = "[has(self.builtin), has(self.command), has(self.processPool)].filter(x, x).size() == 1",
        message = "set exactly one of builtin, command, processPool")
@ValidationRule(value = "!has(self.builtin) || !((has(self.keepStderr) && self.keepStderr) || (has(self.logStderr) && self.logStderr))",
        message = "keepStderr and logStderr apply to command and processPool: a builtin has no stderr")
public class RunSpec {
    @JsonPropertyDescription("Name of an in-JVM handler: square, sleep, sha256, echo, fail.")
    private String builtin;

    @JsonPropertyDescription("Program and arguments run once per task (no shell): input on stdin and in TASK_INPUT, output is stdout, exit 0 is success.")
    @Size(min = 1)
    private List<String> command;

    @JsonPropertyDescription("Long-lived child processes fed one JSON line per task (see docs/process-pool-protocol.md).")
    private ProcessPoolSpec processPool;

    @JsonPropertyDescription("True keeps a succeeded task's stderr too: its last 20 lines (at most 4 KiB) in the result's stderr "
            + "field (a failed or timed-out task's error always has them). command and processPool only.")
    @Default("false")
    private boolean keepStderr;

    @JsonPropertyDescription("True writes each task attempt's stderr to the worker's log when the attempt ends, one INFO line per line "
            + "(category io.taskbatch.task.stderr) tagged with batch, taskId and attempt: the last 20 lines (at most 4 KiB) "
            + "of each attempt, the same tail a result keeps. command and processPool only.")
    @Default("false")
    private boolean logStderr;

    public String getBuiltin() { return builtin; }
    public void setBuiltin(String builtin) { this.builtin = builtin; }
    public List<String> getCommand() { return command; }
    public void setCommand(List<String> command) { this.command = command; }
    public ProcessPoolSpec getProcessPool() { return processPool; }
    public void setProcessPool(ProcessPoolSpec processPool) { this.processPool = processPool; }
    public boolean isKeepStderr() { return keepStderr; }
    public void setKeepStderr(boolean keepStderr) { this.keepStderr = keepStderr; }
    public boolean isLogStderr() { return logStderr; }
    public void setLogStderr(boolean logStderr) { this.logStderr = logStderr; }

    public static class ProcessPoolSpec {
        @JsonPropertyDescription("Program and arguments of each long-lived child (no shell).")
        @Required
        @Size(min = 1)
        private List<String> command;
        @JsonPropertyDescription("A child is replaced after this many tasks (guards against leaks).")
        @Default("1000")
        @Min(1)
        private int maxTasksPerProcess = 1000;

        public List<String> getCommand() { return command; }
        public void setCommand(List<String> command) { this.command = command; }
        public int getMaxTasksPerProcess() { return maxTasksPerProcess; }
        public void setMaxTasksPerProcess(int max) { this.maxTasksPerProcess = max; }
    }
}
