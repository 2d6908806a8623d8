package io.taskbatch.worker;

import io.quarkus.arc.All;
import io.taskbatch.worker.builtin.EchoHandler;
import io.taskbatch.worker.builtin.FailHandler;
import io.taskbatch.worker.builtin.Sha256Handler;
import io.taskbatch.worker.builtin.SleepHandler;
import io.taskbatch.worker.builtin.SquareHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.SortedSet;

/** The builtin handlers by name. */
@ApplicationScoped
public class TaskHandlers {
    private final Map<String, TaskHandler> byName = new TreeMap<>();

    @Inject
    public TaskHandlers(@All List<TaskHandler> handlers) {
        for (TaskHandler h : handlers) {
            TaskHandler clash = byName.putIfAbsent(h.name(), h);
            if (clash != null) {
                throw new IllegalStateException("two builtins are named " + h.name() + ": "
                        + clash.getClass().getName() + " and " + h.getClass().getName());
            }
        }
    }

    /** The standard builtins, for use without CDI (tests, benchmarks). */
    public static TaskHandlers standard() {
        return new TaskHandlers(List.of(new SquareHandler(), new SleepHandler(), new Sha256Handler(),
                new EchoHandler(), new FailHandler()));
    }

    public Optional<TaskHandler> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public SortedSet<String> names() {
        return new TreeSet<>(byName.keySet());
    }
}
