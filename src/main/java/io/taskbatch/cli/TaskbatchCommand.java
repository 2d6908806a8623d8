package io.taskbatch.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

/**
 * The one jar's entry point: the first argument is the role. Its subcommands are {@link #SUBCOMMANDS}, added by {@link
 * CommandLineSetup#withSubcommands} (not by the annotation: picocli would build every one's model, and Quarkus every one's
 * bean, in every role).
 */
@TopCommand
@Command(name = "taskbatch", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Kubernetes-native batch processing: a master and workers over a queue.")
public class TaskbatchCommand {
    /** Each subcommand by its name (its {@code @Command} name), in the order the help lists them. */
    static final Map<String, Class<?>> SUBCOMMANDS = subcommands(RunCommand.class, "run", SubmitCommand.class, "submit",
            GetCommand.class, "get", DescribeCommand.class, "describe", WatchCommand.class, "watch", ResultsCommand.class, "results",
            CancelCommand.class, "cancel", RedriveCommand.class, "redrive", OperatorCommand.class, "operator",
            MasterCommand.class, "master", WorkerCommand.class, "worker", PingCommand.class, "ping", BenchCommand.class, "bench",
            ReadResultsCommand.class, "read-results");

    /** What the top-level help says of each subcommand: one sentence that fits beside its name in 80 columns. */
    static final Map<String, String> SUMMARIES = Map.ofEntries(
            Map.entry("run", "Run a batch on this machine; no cluster needed."),
            Map.entry("submit", "Check a manifest here, then create its TaskBatch on a cluster."),
            Map.entry("get", "List the TaskBatches of a cluster with their progress."),
            Map.entry("describe", "Show one TaskBatch of a cluster in full."),
            Map.entry("watch", "Follow a TaskBatch of a cluster until it is decided."),
            Map.entry("results", "Write the results of a TaskBatch of a cluster as JSON Lines."),
            Map.entry("cancel", "Cancel a TaskBatch of a cluster for good, keeping its results."),
            Map.entry("redrive", "Run again the failed, dead or cancelled tasks of a TaskBatch."),
            Map.entry("operator", "Reconcile TaskBatches on a cluster (the operator's role)."),
            Map.entry("master", "Publish a batch's tasks to RabbitMQ and collect its results."),
            Map.entry("worker", "Run a batch's tasks from RabbitMQ and send back their results."),
            Map.entry("ping", "Check that the broker answers and can declare a queue."),
            Map.entry("bench", "Measure the engine on this machine against its goals."));

    private static Map<String, Class<?>> subcommands(Object... classAndName) {
        Map<String, Class<?>> byName = new LinkedHashMap<>();
        for (int i = 0; i < classAndName.length; i += 2) byName.put((String) classAndName[i + 1], (Class<?>) classAndName[i]);
        return Collections.unmodifiableMap(byName);
    }
}
