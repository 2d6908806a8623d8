package io.taskbatch.cli;

import io.taskbatch.master.BatchOutcome;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.worker.TaskHandlers;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code taskbatch master}: publishes a batch to RabbitMQ and collects its results. */
@Command(name = "master", mixinStandardHelpOptions = true,
        description = {"Publish a batch's tasks to RabbitMQ and collect every result exactly once.",
                "Results go to --output (or stdout) as JSON Lines; with --state-dir a killed master started",
                "again resumes: it publishes nothing twice and counts nothing twice."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the batch succeeded", "1:the batch failed (failurePolicy exceeded)",
                "2:invalid manifest or arguments; nothing was run", "3:the broker could not be reached"})
public class MasterCommand implements Callable<Integer> {

    @Option(names = "--manifest", required = true, paramLabel = "FILE", description = "The TaskBatch manifest (YAML).")
    Path manifestFile;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Results file (JSON Lines). Default: stdout, or STATE_DIR/results.jsonl with --state-dir.")
    Path output;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Keep a checkpoint here, so a restarted master resumes.")
    Path stateDir;

    @Option(names = "--keep-queues", description = "Keep the batch's queues after it finished (for inspection).")
    boolean keepQueues;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "plain",
            description = "auto, bar, plain (default) or none.")
    String progress;

    @Option(names = "--volume", paramLabel = "CLAIM=DIR", description = "Where a claim of spec.tasks.files is mounted.")
    java.util.Map<String, Path> volumes;

    @Mixin
    BrokerOptions broker;

    @Inject
    TaskHandlers handlers;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        BatchFile batch = BatchFile.load(manifestFile, volumes, handlers, err);
        if (batch == null) return ExitCodes.INVALID;
        BrokerAddress address = broker.resolveOrReport(err);
        if (address == null) return ExitCodes.INVALID;
        ProgressPrinter.Mode mode = ProgressPrinter.Mode.parse(progress, err);
        if (mode == null) return ExitCodes.INVALID;
        Path results = output != null ? output : stateDir != null ? stateDir.resolve("results.jsonl") : null;
        try {
            BatchOutcome outcome = BrokerRun.runMaster(batch, address, results, stateDir, keepQueues,
                    new ProgressPrinter(batch.plan().name(), err, mode), Duration.ofSeconds(1), () -> { });
            return outcome.succeeded() ? ExitCodes.SUCCEEDED : ExitCodes.FAILED;
        } catch (IOException | TimeoutException e) {
            err.println("cannot use the broker " + address + ": " + BrokerAddress.describe(e));
            return ExitCodes.UNAVAILABLE;
        }
    }
}
