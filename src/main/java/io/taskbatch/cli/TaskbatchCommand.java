package io.taskbatch.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import java.util.Map;
import picocli.CommandLine.Command;

/** The one jar's entry point: the first argument is the role. */
@TopCommand
@Command(name = "taskbatch", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Kubernetes-native batch processing: a master and workers over a queue.",
        subcommands = {RunCommand.class, SubmitCommand.class, GetCommand.class, DescribeCommand.class, WatchCommand.class,
                ResultsCommand.class, CancelCommand.class, RedriveCommand.class, OperatorCommand.class, MasterCommand.class, WorkerCommand.class, PingCommand.class,
                BenchCommand.class, ReadResultsCommand.class})
public class TaskbatchCommand {
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
}
