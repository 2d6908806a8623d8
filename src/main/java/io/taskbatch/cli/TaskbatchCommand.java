package io.taskbatch.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine.Command;

/** The one jar's entry point: the first argument is the role. */
@TopCommand
@Command(name = "taskbatch", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Kubernetes-native batch processing: a TaskBatch runs as a master and workers over a queue.",
        subcommands = {RunCommand.class, OperatorCommand.class, MasterCommand.class, WorkerCommand.class, PingCommand.class, BenchCommand.class})
public class TaskbatchCommand {
}
