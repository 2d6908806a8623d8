package io.taskbatch;

import io.taskbatch.master.ResultSink;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.plan.ManifestLoader;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.worker.TaskHandlers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/** Plans from YAML snippets, and a sink that keeps results in memory. */
public final class TestBatches {
    private TestBatches() {
    }

    /** A plan for {@code spec} (YAML indented by two spaces, without the "spec:" line). */
    public static BatchPlan plan(String name, String spec) throws InvalidManifestException {
        String yaml = "apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata:\n  name: " + name + "\nspec:\n" + spec;
        return BatchPlan.of(ManifestLoader.parse(yaml, Path.of(name + ".yaml")).batch(), TaskHandlers.standard().names());
    }

    /** Collects results; safe to read after the master returned. */
    public static class CollectingSink implements ResultSink {
        private final List<ResultMessage> results = Collections.synchronizedList(new ArrayList<>());
        private int flushes;

        @Override
        public void write(ResultMessage result) {
            results.add(result);
        }

        @Override
        public void flush() {
            flushes++;
        }

        @Override
        public void close() {
        }

        public List<ResultMessage> byId() {
            List<ResultMessage> copy = new ArrayList<>(results);
            copy.sort(Comparator.comparingLong(ResultMessage::id));
            return copy;
        }

        public int flushes() {
            return flushes;
        }
    }
}
