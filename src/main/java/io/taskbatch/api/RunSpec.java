package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** Exactly one executor for the batch's tasks. */
public class RunSpec {
    @JsonPropertyDescription("Name of an in-JVM handler: square, sleep, sha256, echo, fail.")
    private String builtin;

    @JsonPropertyDescription("Program and arguments run once per task (no shell): input on stdin and in TASK_INPUT, output is stdout, exit 0 is success.")
    private List<String> command;

    @JsonPropertyDescription("Long-lived child processes fed one JSON line per task (see docs/process-pool-protocol.md).")
    private ProcessPoolSpec processPool;

    public String getBuiltin() { return builtin; }
    public void setBuiltin(String builtin) { this.builtin = builtin; }
    public List<String> getCommand() { return command; }
    public void setCommand(List<String> command) { this.command = command; }
    public ProcessPoolSpec getProcessPool() { return processPool; }
    public void setProcessPool(ProcessPoolSpec processPool) { this.processPool = processPool; }

    public static class ProcessPoolSpec {
        @JsonPropertyDescription("Program and arguments of each long-lived child (no shell).")
        private List<String> command;
        @JsonPropertyDescription("A child is replaced after this many tasks (guards against leaks).")
        private int maxTasksPerProcess = 1000;

        public List<String> getCommand() { return command; }
        public void setCommand(List<String> command) { this.command = command; }
        public int getMaxTasksPerProcess() { return maxTasksPerProcess; }
        public void setMaxTasksPerProcess(int max) { this.maxTasksPerProcess = max; }
    }
}
