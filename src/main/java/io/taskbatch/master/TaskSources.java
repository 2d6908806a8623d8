package io.taskbatch.master;

import io.taskbatch.api.TaskSourceSpec;
import java.nio.file.Path;

/** Turns a validated {@code spec.tasks} into a streaming source. */
public final class TaskSources {

    /** What a source needs from where it runs: ConfigMap texts and mounted volumes. */
    public interface Resources {
        LinesSource.TextOpener configMapKey(String name, String key);

        Path volume(String claimName);
    }

    private TaskSources() {
    }

    public static TaskSource create(TaskSourceSpec spec, Resources resources) {
        if (spec.getItems() != null) return new ItemsSource(spec.getItems());
        if (spec.getRange() != null) {
            var r = spec.getRange();
            return new RangeSource(r.getFrom(), r.getTo(), r.getStep());
        }
        if (spec.getConfigMap() != null) {
            var cm = spec.getConfigMap();
            return new LinesSource("ConfigMap " + cm.getName() + " key " + cm.getKey(), cm.getKey(),
                    !TaskSourceSpec.FAIL_BATCH.equals(spec.getSourceErrors()), resources.configMapKey(cm.getName(), cm.getKey()));
        }
        var files = spec.getFiles();
        return new FilesSource(resources.volume(files.getClaimName()), files.getGlob());
    }
}
