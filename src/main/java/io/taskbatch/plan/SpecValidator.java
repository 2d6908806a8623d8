package io.taskbatch.plan;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.taskbatch.api.MasterSpec;
import io.taskbatch.api.QueuesSpec;
import io.taskbatch.api.RetrySpec;
import io.taskbatch.api.RunSpec;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.RedriveSpec;
import io.taskbatch.api.TaskBatchSpec;
import io.taskbatch.api.TaskSourceSpec;
import io.taskbatch.api.WorkersSpec;
import io.taskbatch.worker.RetryPolicy;
import java.nio.file.FileSystems;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Checks what a schema cannot: exactly one source and one executor, sane numbers, durations that
 * parse, builtins that exist. Collects every violation, each naming its field, so a user fixes the
 * manifest in one go.
 */
public final class SpecValidator {
    // Job and queue names are derived from it: a DNS-1123 label with room for suffixes
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final int MAX_NAME = 50;
    private static final Pattern ENV_NAME = Pattern.compile("[-._a-zA-Z][-._a-zA-Z0-9]*");
    private static final String NO_STDERR = "a builtin has no stderr: only command and processPool tasks do (set it to false or remove it)";

    private SpecValidator() {
    }

    /** @param builtins the names of the builtins this program has */
    public static BatchPlan validate(TaskBatch batch, Set<String> builtins) throws InvalidManifestException {
        List<Violation> v = new ArrayList<>();
        String name = batch.getMetadata() == null ? null : batch.getMetadata().getName();
        String namespace = batch.getMetadata() == null ? null : batch.getMetadata().getNamespace();
        if (name == null || name.isBlank()) {
            v.add(new Violation("metadata.name", "required: give the batch a name"));
        } else if (!NAME.matcher(name).matches() || name.length() > MAX_NAME) {
            v.add(new Violation("metadata.name", "\"" + name + "\" must be at most " + MAX_NAME
                    + " lowercase letters, digits and '-', starting and ending with a letter or digit"));
        }
        TaskBatchSpec spec = batch.getSpec();
        if (spec == null) {
            v.add(new Violation("spec", "required: a TaskBatch needs spec.tasks and spec.run"));
            throw new InvalidManifestException(v);
        }
        checkSource(spec.getTasks(), v);
        checkRun(spec.getRun(), builtins, v);
        checkWorkers(spec.getWorkers(), v);
        checkMaster(spec.getMaster(), v);
        RetryPolicy retry = checkRetry(spec.getRetry(), v);
        Duration timeout = duration("spec.taskTimeout", spec.getTaskTimeout(), v);
        if (timeout != null && timeout.isZero()) v.add(new Violation("spec.taskTimeout", "must be more than 0"));
        long maxFailed = spec.getFailurePolicy().getMaxFailedTasks();
        if (maxFailed < 0) v.add(new Violation("spec.failurePolicy.maxFailedTasks", "must be >= 0, was " + maxFailed));
        if (spec.getTtlSecondsAfterFinished() != null && spec.getTtlSecondsAfterFinished() < 0) {
            v.add(new Violation("spec.ttlSecondsAfterFinished", "must be >= 0"));
        }
        if (spec.getResults().getPath() != null && spec.getResults().getClaimName() == null) {
            v.add(new Violation("spec.results.claimName", "required when spec.results.path is set"));
        }
        checkRedrive(spec.getRedrive(), v);
        if (spec.getQueues() != null && (spec.getQueues().getShards() < 1 || spec.getQueues().getShards() > QueuesSpec.MAX_SHARDS)) {
            v.add(new Violation("spec.queues.shards", "must be 1 to " + QueuesSpec.MAX_SHARDS + " (one per broker node is "
                    + "the useful most), was " + spec.getQueues().getShards()));
        }
        if (!v.isEmpty()) throw new InvalidManifestException(v);
        return new BatchPlan(name, namespace, spec, retry, timeout, maxFailed, spec.getWorkers().getConcurrency());
    }

    /**
     * {@code e}'s violations (unknown fields, wrong types) and those the checks here find in what was
     * left of the manifest without them, so that one run reports every problem. A check's violation
     * at or under a field already reported is left out: it is the same mistake seen again.
     */
    public static InvalidManifestException withCrossFieldChecks(InvalidManifestException e, Set<String> builtins) {
        if (e.partial().isEmpty()) return e;
        try {
            validate(e.partial().get().batch(), builtins);
            return e;
        } catch (InvalidManifestException checks) {
            List<Violation> all = new ArrayList<>(e.violations());
            for (Violation c : checks.violations()) {
                boolean seen = e.violations().stream().anyMatch(p -> c.field().equals(p.field())
                        || c.field().startsWith(p.field() + ".") || c.field().startsWith(p.field() + "["));
                if (!seen) all.add(c);
            }
            return new InvalidManifestException(all, e.partial().get());
        }
    }

    private static void checkRedrive(RedriveSpec redrive, List<Violation> v) {
        if (redrive == null) return;
        if (redrive.getRound() < 0) v.add(new Violation("spec.redrive.round", "must be >= 0, was " + redrive.getRound()));
        List<String> select = redrive.getSelect();
        if (select == null || select.isEmpty()) {
            v.add(new Violation("spec.redrive.select", "name at least one of " + String.join(", ", RedriveSpec.KINDS)));
            return;
        }
        for (int i = 0; i < select.size(); i++) {
            if (!RedriveSpec.KINDS.contains(select.get(i))) {
                v.add(new Violation("spec.redrive.select[" + i + "]", "\"" + select.get(i) + "\" is not one of "
                        + String.join(", ", RedriveSpec.KINDS)));
            }
        }
    }

    private static void checkSource(TaskSourceSpec tasks, List<Violation> v) {
        String field = "spec.tasks";
        if (tasks == null) {
            v.add(new Violation(field, "required: set exactly one of items, range, configMap, files"));
            return;
        }
        String sourceErrors = tasks.getSourceErrors();
        if (sourceErrors != null && !TaskSourceSpec.SOURCE_ERRORS.contains(sourceErrors)) {
            v.add(new Violation(field + ".sourceErrors", "\"" + sourceErrors + "\" must be " + TaskSourceSpec.FAIL_TASK
                    + " (a line that cannot be read fails its task; the default) or " + TaskSourceSpec.FAIL_BATCH
                    + " (it fails the batch)"));
        }
        List<String> set = new ArrayList<>();
        if (tasks.getItems() != null) set.add("items");
        if (tasks.getRange() != null) set.add("range");
        if (tasks.getConfigMap() != null) set.add("configMap");
        if (tasks.getFiles() != null) set.add("files");
        if (set.size() != 1) {
            v.add(new Violation(field, "set exactly one of items, range, configMap, files; found "
                    + (set.isEmpty() ? "none" : set.size() + ": " + String.join(", ", set))));
            return;
        }
        if (tasks.getItems() != null) {
            if (tasks.getItems().isEmpty()) v.add(new Violation(field + ".items", "must list at least one task"));
            for (int i = 0; i < tasks.getItems().size(); i++) {
                if (tasks.getItems().get(i) == null) v.add(new Violation(field + ".items[" + i + "]", "must not be null"));
            }
        }
        TaskSourceSpec.RangeSpec range = tasks.getRange();
        if (range != null) {
            if (range.getFrom() == null) v.add(new Violation(field + ".range.from", "required"));
            if (range.getTo() == null) v.add(new Violation(field + ".range.to", "required"));
            if (range.getStep() == 0) {
                v.add(new Violation(field + ".range.step", "must not be 0 (use a negative step to count down)"));
            } else if (range.getFrom() != null && range.getTo() != null
                    && (range.getStep() > 0 ? range.getFrom() > range.getTo() : range.getFrom() < range.getTo())) {
                v.add(new Violation(field + ".range", "from " + range.getFrom() + " to " + range.getTo() + " by "
                        + range.getStep() + " holds no number; " + (range.getStep() > 0
                        ? "swap from and to, or use a negative step" : "use a positive step")));
            }
        }
        TaskSourceSpec.ConfigMapSource cm = tasks.getConfigMap();
        if (cm != null) {
            if (blank(cm.getName())) v.add(new Violation(field + ".configMap.name", "required"));
            if (blank(cm.getKey())) v.add(new Violation(field + ".configMap.key", "required"));
        }
        TaskSourceSpec.FilesSource files = tasks.getFiles();
        if (files != null) {
            if (blank(files.getClaimName())) v.add(new Violation(field + ".files.claimName", "required"));
            if (blank(files.getGlob())) {
                v.add(new Violation(field + ".files.glob", "required, e.g. \"**/*.jpg\""));
            } else if (files.getGlob().startsWith("/") || files.getGlob().contains("..")) {
                v.add(new Violation(field + ".files.glob", "must be relative to the volume's root, without '..'"));
            } else {
                try {
                    FileSystems.getDefault().getPathMatcher("glob:" + files.getGlob());
                } catch (PatternSyntaxException e) {
                    v.add(new Violation(field + ".files.glob", "\"" + files.getGlob() + "\" is not a glob: " + e.getDescription()
                            + " at character " + (e.getIndex() + 1)));
                }
            }
        }
    }

    private static void checkRun(RunSpec run, Set<String> builtins, List<Violation> v) {
        String field = "spec.run";
        if (run == null) {
            v.add(new Violation(field, "required: set exactly one of builtin, command, processPool"));
            return;
        }
        List<String> set = new ArrayList<>();
        if (run.getBuiltin() != null) set.add("builtin");
        if (run.getCommand() != null) set.add("command");
        if (run.getProcessPool() != null) set.add("processPool");
        if (set.size() != 1) {
            v.add(new Violation(field, "set exactly one of builtin, command, processPool; found "
                    + (set.isEmpty() ? "none" : set.size() + ": " + String.join(", ", set))));
            return;
        }
        if (run.getBuiltin() != null) {
            if (!builtins.contains(run.getBuiltin())) {
                v.add(new Violation(field + ".builtin", "unknown builtin \"" + run.getBuiltin() + "\"; known: "
                        + String.join(", ", new TreeSet<>(builtins))));
            }
            if (run.isKeepStderr()) v.add(new Violation(field + ".keepStderr", NO_STDERR));
            if (run.isLogStderr()) v.add(new Violation(field + ".logStderr", NO_STDERR));
        }
        if (run.getCommand() != null) checkArgv(field + ".command", run.getCommand(), v);
        RunSpec.ProcessPoolSpec pool = run.getProcessPool();
        if (pool != null) {
            if (pool.getCommand() == null) {
                v.add(new Violation(field + ".processPool.command", "required: the program to keep running"));
            } else {
                checkArgv(field + ".processPool.command", pool.getCommand(), v);
            }
            if (pool.getMaxTasksPerProcess() < 1) {
                v.add(new Violation(field + ".processPool.maxTasksPerProcess", "must be >= 1, was " + pool.getMaxTasksPerProcess()));
            }
        }
    }

    private static void checkArgv(String field, List<String> argv, List<Violation> v) {
        if (argv.isEmpty()) {
            v.add(new Violation(field, "must name a program: a list like [\"python3\", \"/app/task.py\"]"));
            return;
        }
        for (int i = 0; i < argv.size(); i++) {
            if (argv.get(i) == null || (i == 0 && argv.get(i).isBlank())) {
                v.add(new Violation(field + "[" + i + "]", i == 0 ? "the program must not be empty" : "must not be null"));
            }
        }
    }

    private static void checkWorkers(WorkersSpec w, List<Violation> v) {
        String field = "spec.workers";
        IntOrString replicas = w.getReplicas();
        if (replicas != null) {
            if (replicas.getIntVal() != null) {
                if (replicas.getIntVal() < 1) v.add(new Violation(field + ".replicas", "must be auto or >= 1"));
            } else if (!"auto".equals(replicas.getStrVal())) {
                v.add(new Violation(field + ".replicas", "\"" + replicas.getStrVal() + "\" must be auto or a number >= 1"));
            }
        }
        if (w.getMaxReplicas() < 1) v.add(new Violation(field + ".maxReplicas", "must be >= 1"));
        if (w.getWeight() < 1) v.add(new Violation(field + ".weight", "must be >= 1 (the default 1 shares equally)"));
        if (w.getConcurrency() < 0) v.add(new Violation(field + ".concurrency", "must be >= 0 (0 = one slot per core)"));
        if (w.getPrefetch() < 0) v.add(new Violation(field + ".prefetch", "must be >= 0 (0 = adapt to the workload)"));
        if (w.getEnv() != null) {
            // what a pod accepts (and the operating system, for the children of command and processPool)
            w.getEnv().forEach((name, value) -> {
                if (PodTemplateRules.RESERVED_ENV.contains(name)) {
                    v.add(new Violation(field + ".env." + name, "is set by the operator; choose another name"));
                } else if (!ENV_NAME.matcher(name).matches()) {
                    v.add(new Violation(field + ".env." + name, "not a variable name: letters, digits, '_', '-' and '.', "
                            + "not starting with a digit"));
                } else if (value != null && value.indexOf('\0') >= 0) {
                    v.add(new Violation(field + ".env." + name, "must not contain a NUL character"));
                }
            });
        }
        PodTemplateRules.check(w.getTemplate(), PodTemplateRules.Role.worker(w.getCpu()), w.getEnv(), w.getNodeSelector(),
                w.getImage(), w.getServiceAccountName(), v);
    }

    private static void checkMaster(MasterSpec m, List<Violation> v) {
        if (m == null) return;
        PodTemplateRules.check(m.getTemplate(), PodTemplateRules.Role.master(m.getCpu()), null, m.getNodeSelector(),
                null, null, v);
        var spec = m.getTemplate() == null ? null : m.getTemplate().getSpec();
        if (spec == null) return;
        if (m.getAffinity() != null && spec.getAffinity() != null) {
            v.add(new Violation("spec.master.template.spec.affinity", "also set as spec.master.affinity; set it in one place"));
        }
        if (m.getPriorityClassName() != null && spec.getPriorityClassName() != null
                && !m.getPriorityClassName().equals(spec.getPriorityClassName())) {
            v.add(new Violation("spec.master.template.spec.priorityClassName", "differs from spec.master.priorityClassName; "
                    + "set it in one place"));
        }
    }

    private static RetryPolicy checkRetry(RetrySpec r, List<Violation> v) {
        String field = "spec.retry";
        if (r.getMaxAttempts() < 1) {
            v.add(new Violation(field + ".maxAttempts", "must be >= 1 (1 = no retries), was " + r.getMaxAttempts()));
        }
        Duration backoff = duration(field + ".backoff", r.getBackoff(), v);
        Duration maxBackoff = duration(field + ".maxBackoff", r.getMaxBackoff(), v);
        if (backoff != null && maxBackoff != null && backoff.compareTo(maxBackoff) > 0) {
            v.add(new Violation(field + ".backoff", r.getBackoff() + " is longer than maxBackoff " + r.getMaxBackoff()));
        }
        if (backoff == null || maxBackoff == null || r.getMaxAttempts() < 1) return null;
        return new RetryPolicy(r.getMaxAttempts(), backoff, maxBackoff);
    }

    private static Duration duration(String field, String text, List<Violation> v) {
        try {
            return GoDuration.parse(text);
        } catch (IllegalArgumentException e) {
            v.add(new Violation(field, e.getMessage()));
            return null;
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
