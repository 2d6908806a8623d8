package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Default;
import java.util.List;

/** Exactly one source of tasks; the master streams it and never holds it whole. */
@ValidationRule(value = "[has(self.items), has(self.range), has(self.configMap), has(self.files)].filter(x, x).size() == 1",
        message = "set exactly one of items, range, configMap, files")
public class TaskSourceSpec {
    /** {@link #getSourceErrors}: a line that cannot be read fails its own task; the others run. */
    public static final String FAIL_TASK = "failTask";
    /** {@link #getSourceErrors}: a line that cannot be read fails the batch before any task runs. */
    public static final String FAIL_BATCH = "failBatch";
    /** The values of {@code sourceErrors}, the default first (the CRD's enum, {@link CrdConventions}). */
    public static final List<String> SOURCE_ERRORS = List.of(FAIL_TASK, FAIL_BATCH);

    @JsonPropertyDescription("Inline task inputs, for small batches.")
    @Size(min = 1)
    private List<String> items;

    @JsonPropertyDescription("The integers from..to (inclusive) by step.")
    private RangeSpec range;

    @JsonPropertyDescription("One task per line of a ConfigMap key (locally: a ConfigMap in the same file, or a file named like the key beside the manifest).")
    private ConfigMapSource configMap;

    @JsonPropertyDescription("One task per file matching a glob on a shared volume; the task input is the file's path.")
    private FilesSource files;

    @JsonPropertyDescription("What a line of the configMap source that cannot be read (not UTF-8) does: failTask (the "
            + "default) makes it a failed task that never runs, named by its line, while the other tasks run; failBatch fails "
            + "the batch before any task runs.")
    @Default(FAIL_TASK)
    private String sourceErrors = FAIL_TASK;

    public List<String> getItems() { return items; }
    public void setItems(List<String> items) { this.items = items; }
    public RangeSpec getRange() { return range; }
    public void setRange(RangeSpec range) { this.range = range; }
    public ConfigMapSource getConfigMap() { return configMap; }
    public void setConfigMap(ConfigMapSource configMap) { this.configMap = configMap; }
    public FilesSource getFiles() { return files; }
    public void setFiles(FilesSource files) { this.files = files; }
    public String getSourceErrors() { return sourceErrors; }
    public void setSourceErrors(String sourceErrors) { this.sourceErrors = sourceErrors; }

    @ValidationRule(value = "self.step != 0", message = "step must not be 0 (a negative step counts down)")
    public static class RangeSpec {
        @JsonPropertyDescription("First number (inclusive).")
        @Required
        private Long from;
        @JsonPropertyDescription("Last number (inclusive).")
        @Required
        private Long to;
        @JsonPropertyDescription("Distance between numbers; negative counts down; never 0.")
        @Default("1")
        private long step = 1;

        public Long getFrom() { return from; }
        public void setFrom(Long from) { this.from = from; }
        public Long getTo() { return to; }
        public void setTo(Long to) { this.to = to; }
        public long getStep() { return step; }
        public void setStep(long step) { this.step = step; }
    }

    public static class ConfigMapSource {
        @JsonPropertyDescription("Name of the ConfigMap.")
        @Required
        private String name;
        @JsonPropertyDescription("Key whose value holds one task per line.")
        @Required
        private String key;

        public String getName() { return name; }
        public void setName(String name) { this.name = name; }
        public String getKey() { return key; }
        public void setKey(String key) { this.key = key; }
    }

    public static class FilesSource {
        @JsonPropertyDescription("PersistentVolumeClaim holding the files (mounted by master and workers).")
        @Required
        private String claimName;
        @JsonPropertyDescription("Glob relative to the volume's root, e.g. logs/*.gz or **/*.jpg.")
        @Required
        private String glob;

        public String getClaimName() { return claimName; }
        public void setClaimName(String claimName) { this.claimName = claimName; }
        public String getGlob() { return glob; }
        public void setGlob(String glob) { this.glob = glob; }
    }
}
