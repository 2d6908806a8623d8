package io.taskbatch.cli;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.taskbatch.api.RunSpec;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchSpec;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.api.TaskSourceSpec;
import io.taskbatch.operator.BatchLabels;
import io.taskbatch.operator.ResultsReaderPod;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/** {@code taskbatch describe} as text: what the batch runs, how far it is, its conditions, failures and events. */
final class BatchDescription {
    private static final int MAX_EVENTS = 20;
    private static final int MAX_ERROR = 160;

    private final StringBuilder sb = new StringBuilder();
    private final Instant now;

    private BatchDescription(Instant now) {
        this.now = now;
    }

    static String of(TaskBatch batch, List<Event> events, Instant now) {
        return new BatchDescription(now).describe(batch, events);
    }

    private String describe(TaskBatch b, List<Event> events) {
        var meta = b.getMetadata();
        TaskBatchSpec spec = b.getSpec();
        TaskBatchStatus s = b.getStatus() == null ? new TaskBatchStatus() : b.getStatus();
        field("", "Name", meta.getName());
        field("", "Namespace", meta.getNamespace());
        field("", "Created", meta.getCreationTimestamp() + " (" + BatchTable.age(meta.getCreationTimestamp(), now) + " ago)");
        field("", "Phase", BatchTable.orNone(s.getPhase()));
        field("", "Message", BatchTable.orNone(s.getMessage()));
        sb.append("Spec:\n");
        if (spec != null) {
            field("  ", "Tasks", tasks(spec.getTasks()) + (spec.getTasks() != null && spec.getTasks().getConfigMap() != null
                    ? ", a line that cannot be read " + (TaskSourceSpec.FAIL_BATCH.equals(spec.getTasks().getSourceErrors())
                    ? "fails the batch" : "fails its task") : ""));
            field("  ", "Run", run(spec.getRun()));
            var w = spec.getWorkers();
            if (w != null) {
                field("  ", "Workers", "replicas " + (w.getReplicas() == null ? "auto" : w.getReplicas().getValue().toString())
                        + " (at most " + w.getMaxReplicas() + "), cpu " + w.getCpu() + ", memory " + w.getMemory()
                        + ", concurrency " + (w.getConcurrency() == 0 ? "one slot per core" : Integer.toString(w.getConcurrency()))
                        + (w.getImage() == null ? "" : ", image " + w.getImage()));
            }
            var r = spec.getRetry();
            if (r != null) {
                field("  ", "Retries", "at most " + Plural.of(r.getMaxAttempts(), "attempt") + " a task, backoff " + r.getBackoff()
                        + " doubling up to " + r.getMaxBackoff());
            }
            field("  ", "Task timeout", spec.getTaskTimeout());
            long maxFailed = spec.getFailurePolicy() == null ? 0 : spec.getFailurePolicy().getMaxFailedTasks();
            field("  ", "Failure policy", "the batch fails once more than " + Plural.of(maxFailed, "task") + " failed");
            field("  ", "Results", resultsPlace(b));
            if (spec.isSuspend()) field("  ", "Suspend", "true");
            if (spec.isCancel()) field("  ", "Cancel", "true");
            if (spec.getRedrive() != null && spec.getRedrive().getRound() > 0) {
                field("  ", "Redrive", "round " + spec.getRedrive().getRound() + ": the "
                        + String.join(", ", spec.getRedrive().getSelect()) + " tasks run again");
            }
        }
        sb.append("Progress:\n");
        field("  ", "Done", BatchTable.orNone(s.getDone()));
        field("  ", "Succeeded", BatchTable.orNone(s.getSucceeded()));
        field("  ", "Failed", BatchTable.orNone(s.getFailed()) + (s.getDead() != null && s.getDead() > 0 ? " (" + s.getDead() + " dead)" : ""));
        if (s.getCancelled() != null) field("  ", "Cancelled", Long.toString(s.getCancelled()));
        if (s.getRound() != null && s.getRound() > 0) field("  ", "Round", s.getRound() + " (the counts are the whole batch's)");
        field("  ", "Retried", BatchTable.orNone(s.getRetried()));
        field("  ", "Rate", BatchTable.orNone(s.getRate()));
        field("  ", "ETA", BatchTable.orNone(s.getEta()));
        field("  ", "Workers", s.getWorkers() == null ? BatchTable.NONE : s.getWorkers() + " (ready/desired)");
        if (s.getStartTime() != null) field("  ", "Started", s.getStartTime());
        if (s.getCompletionTime() != null) field("  ", "Completed", s.getCompletionTime());
        field("", "Results", s.getResults() == null ? "none yet (" + resultsPlace(b) + ")" : s.getResults());
        conditions(s.getConditions());
        failures(s.getFailedTasks());
        events(events);
        return sb.toString();
    }

    /** Where the results go, from the spec. */
    static String resultsPlace(TaskBatch b) {
        var results = b.getSpec() == null ? null : b.getSpec().getResults();
        if (results == null || results.getClaimName() == null) {
            return "ConfigMap " + BatchLabels.resultsConfigMap(b) + ", filled when the batch is over (capped)";
        }
        return "claim " + results.getClaimName() + ", file " + ResultsReaderPod.pathOnClaim(b);
    }

    private static String tasks(TaskSourceSpec t) {
        if (t == null) return BatchTable.NONE;
        if (t.getItems() != null) return Plural.of(t.getItems().size(), "item") + " inline";
        if (t.getRange() != null) {
            return "range " + t.getRange().getFrom() + " to " + t.getRange().getTo()
                    + (t.getRange().getStep() == 1 ? "" : " step " + t.getRange().getStep());
        }
        if (t.getConfigMap() != null) return "ConfigMap " + t.getConfigMap().getName() + " key " + t.getConfigMap().getKey() + ", a task a line";
        if (t.getFiles() != null) return "files " + t.getFiles().getGlob() + " on claim " + t.getFiles().getClaimName();
        return BatchTable.NONE;
    }

    private static String run(RunSpec r) {
        if (r == null) return BatchTable.NONE;
        if (r.getBuiltin() != null) return "builtin " + r.getBuiltin();
        if (r.getCommand() != null) return "command " + String.join(" ", r.getCommand());
        if (r.getProcessPool() != null) {
            return "processPool " + String.join(" ", r.getProcessPool().getCommand()) + " (a child serves at most "
                    + r.getProcessPool().getMaxTasksPerProcess() + " tasks)";
        }
        return BatchTable.NONE;
    }

    private void conditions(List<Condition> conditions) {
        sb.append("Conditions:\n");
        if (conditions == null || conditions.isEmpty()) {
            sb.append("  none yet\n");
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"));
        for (Condition c : conditions) {
            rows.add(List.of(c.getType(), c.getStatus(), Objects.toString(c.getReason(), ""),
                    BatchTable.age(c.getLastTransitionTime(), now), Objects.toString(c.getMessage(), "")));
        }
        indent(BatchTable.layout(rows));
    }

    private void failures(List<TaskBatchStatus.FailedTask> failed) {
        if (failed == null || failed.isEmpty()) return;
        sb.append("First failures:\n");
        for (TaskBatchStatus.FailedTask f : failed) {
            // no input: a line the master could not read (spec.tasks.sourceErrors)
            sb.append("  task ").append(f.getId()).append(f.getInput() == null ? " (no input" : " (input " + cut(f.getInput())).append(", ")
                    .append(Plural.of(f.getAttempts(), "attempt")).append("): ").append(cut(f.getError())).append('\n');
        }
    }

    private void events(List<Event> events) {
        sb.append("Events:\n");
        if (events.isEmpty()) {
            sb.append("  none\n");
            return;
        }
        List<Event> recent = events.stream().sorted(Comparator.comparing(BatchDescription::when)).toList();
        if (recent.size() > MAX_EVENTS) recent = recent.subList(recent.size() - MAX_EVENTS, recent.size());
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("TYPE", "REASON", "AGE", "FROM", "MESSAGE"));
        for (Event e : recent) {
            rows.add(List.of(Objects.toString(e.getType(), ""), Objects.toString(e.getReason(), ""), BatchTable.age(when(e), now),
                    e.getSource() == null ? "" : Objects.toString(e.getSource().getComponent(), ""),
                    Objects.toString(e.getMessage(), "")));
        }
        indent(BatchTable.layout(rows));
    }

    /** When an event last happened: lastTimestamp, else its eventTime, else its creation. */
    private static String when(Event e) {
        if (e.getLastTimestamp() != null) return e.getLastTimestamp();
        if (e.getEventTime() != null && e.getEventTime().getTime() != null) return e.getEventTime().getTime();
        return Objects.toString(e.getMetadata().getCreationTimestamp(), "");
    }

    private void indent(String block) {
        block.lines().forEach(l -> sb.append("  ").append(l).append('\n'));
    }

    private void field(String indent, String name, String value) {
        sb.append(indent).append(name).append(':');
        int pad = Math.max(1, 17 - indent.length() - name.length());
        sb.append(" ".repeat(pad)).append(value).append('\n');
    }

    private static String cut(String s) {
        if (s == null) return "";
        String one = s.replace('\n', ' ');
        return one.length() > MAX_ERROR ? one.substring(0, MAX_ERROR - 3) + "..." : one;
    }
}
