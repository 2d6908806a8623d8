package io.taskbatch.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import java.util.Map;
import picocli.CommandLine.Command;

/** The one jar's entry point: the first argument is the role. */
@TopCommand
@Command(name = "taskbatch", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Kubernetes-native batch processing: a master and workers over a queue.",
        subcommands = {RunCommand.class, OperatorCommand.class, MasterCommand.class, WorkerCommand.class, PingCommand.class, BenchCommand.class})
public class TaskbatchCommand {
    /** What the top-level help says of each subcommand: one sentence that fits beside its name in 80 columns. */
    static final Map<String, String> SUMMARIES = Map.of(
            "run", "Run a batch on this machine; no cluster needed.",
            "operator", "Reconcile TaskBatches on a cluster (the operator's role).",
            "master", "Publish a batch's tasks to RabbitMQ and collect its results.",
            "worker", "Run a batch's tasks from RabbitMQ and send back their results.",
            "ping", "Check that the broker answers and can declare a queue.",
            "bench", "Measure the engine on this machine against its goals.");
}
