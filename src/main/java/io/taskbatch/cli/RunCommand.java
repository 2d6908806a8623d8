package io.taskbatch.cli;

import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.JsonLinesSink;
import io.taskbatch.master.Master;
import io.taskbatch.master.Round;
import io.taskbatch.master.ResultSink;
import io.taskbatch.master.TaskSource;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.queue.amqp.BrokerWait;
import io.taskbatch.worker.TaskExecutor;
import io.taskbatch.worker.TaskExecutors;
import io.taskbatch.worker.TaskHandlers;
import jakarta.inject.Inject;
import io.taskbatch.api.RedriveSpec;
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taskbatch run FILE}: the whole batch on this machine, no cluster needed. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run a TaskBatch manifest on this machine: the master and the worker slots in this process,",
                "with in-memory queues. Results go to stdout (or --output) as JSON Lines, one per task;",
                "progress and the summary go to stderr."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the batch succeeded", "1:the batch failed (failurePolicy exceeded)",
                "2:invalid manifest or arguments; nothing was run",
                "3:the broker could not be reached or used (with --broker)",
                "130:stopped by Ctrl-C (SIGINT), 143: stopped by SIGTERM: running tasks had --grace to finish, the rest are "
                        + "cancelled in the results, whose lines are whole, and the summary was printed"})
public class RunCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "The TaskBatch manifest (YAML).")
    Path manifestFile;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write results here instead of stdout.")
    Path output;

    @Option(names = {"-w", "--workers"}, paramLabel = "N",
            description = "Task slots (default: spec.workers.concurrency, else one per core: ${sys:taskbatch.cores}).")
    Integer workers;

    @Option(names = "--volume", paramLabel = "CLAIM=DIR",
            description = "Where a claim of spec.tasks.files is on this machine (default: the manifest's directory).")
    Map<String, Path> volumes;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "auto (a bar on a terminal, plain lines otherwise), bar, plain or none.")
    String progress;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "10",
            description = "On Ctrl-C or SIGTERM, how long running tasks may take to finish (default ${DEFAULT-VALUE}).")
    int graceSeconds;

    @Option(names = "--worker-processes", paramLabel = "N", defaultValue = "1",
            description = "With --broker: worker processes to start and keep alive (default ${DEFAULT-VALUE}).")
    int workerProcesses;

    @Option(names = "--redrive", paramLabel = "RESULTS",
            description = "Run again only the tasks whose results in this file (an earlier run's) are of the kinds --select "
                    + "names; the other results are written first, as they were, and counted. RESULTS may be the --output file.")
    Path redrive;

    @Option(names = "--select", paramLabel = "KIND", split = ",", defaultValue = "failed,dead,cancelled",
            description = "With --redrive: which results run again: failed, dead, cancelled (default all three).")
    List<String> select;

    @Mixin
    BrokerOptions broker = new BrokerOptions();

    @Mixin
    ShardsOption shards = new ShardsOption();

    @Inject
    TaskHandlers handlers;

    @Spec
    CommandSpec spec;

    static {
        System.setProperty("taskbatch.cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        ProgressPrinter.Mode mode = ProgressPrinter.Mode.parse(progress, err);
        if (mode == null) return ExitCodes.INVALID;
        if (workers != null && workers < 1) {
            err.println("--workers: must be at least 1, was " + workers);
            return ExitCodes.INVALID;
        }
        if (workerProcesses < 1) {
            err.println("--worker-processes: must be at least 1, was " + workerProcesses);
            return ExitCodes.INVALID;
        }
        if (!RedriveSpec.KINDS.containsAll(select)) {
            err.println("--select: give some of " + String.join(", ", RedriveSpec.KINDS) + ", was " + String.join(",", select));
            return ExitCodes.INVALID;
        }
        if (broker.given() && redrive != null) {
            err.println("--redrive runs on this machine's in-memory queues: drop --broker (on a cluster: taskbatch redrive)");
            return ExitCodes.INVALID;
        }
        BatchFile batch = BatchFile.load(manifestFile, volumes, handlers, err);
        if (batch == null || !shards.apply(batch, err)) return ExitCodes.INVALID;
        batch.clusterOnlyFields().forEach(field -> err.println("note: " + field + " is for the cluster's pods; "
                + "taskbatch run ignores it (its env, volumes and resources are not applied here)"));
        Path previous;
        try {
            previous = previousResults();
        } catch (IOException e) {
            err.println("--redrive: cannot read " + redrive + ": " + e.getMessage());
            return ExitCodes.INVALID;
        }
        BatchPlan plan = batch.plan();
        Duration interval = mode == ProgressPrinter.Mode.BAR ? Duration.ofMillis(200) : Duration.ofSeconds(1);
        if (broker.given()) return runOnBroker(batch, mode, interval, err);
        int slots = batch.slots(workers);
        TaskSource source = batch.source();
        OutputStream out;
        try {
            out = output == null ? System.out : new FileOutputStream(output.toFile());
        } catch (IOException e) {
            err.println("--output: cannot write " + output + ": " + e.getMessage());
            return ExitCodes.INVALID;
        }
        ProgressPrinter printer = new ProgressPrinter(plan.name(), err, mode);
        if (output == null) out = printer.guard(out, ProgressPrinter.stdoutIsTerminal());
        printer.start();
        BatchOutcome outcome;
        try (ResultSink sink = new JsonLinesSink(out, output != null);
             TaskExecutor executor = batch.executor(handlers, slots)) {
            outcome = LocalRun.execute(plan, source, executor, slots, sink, printer, interval, Duration.ofSeconds(graceSeconds),
                    master -> carryOver(previous, sink, master));
        } finally {
            if (previous != null && !previous.equals(redrive)) Files.deleteIfExists(previous);
        }
        return outcome.succeeded() ? ExitCodes.SUCCEEDED : ExitCodes.FAILED;
    }

    /**
     * The results a redrive starts from: {@code --redrive}'s file, or a copy of it when it is also the output (which is
     * written from its start); null without {@code --redrive}.
     */
    private Path previousResults() throws IOException {
        if (redrive == null) return null;
        if (output == null || !Files.exists(output) || !Files.isSameFile(output, redrive)) {
            if (!Files.isReadable(redrive)) throw new IOException("no such readable file");
            return redrive;
        }
        Path copy = Files.createTempFile(output.toAbsolutePath().getParent(), "." + output.getFileName(), ".previous");
        return Files.copy(redrive, copy, StandardCopyOption.REPLACE_EXISTING);
    }

    /** With --redrive: the previous results that do not run again are stored first and counted by the master. */
    private void carryOver(Path previous, ResultSink sink, Master master) throws IOException {
        if (previous == null) return;
        try (BufferedReader in = Files.newBufferedReader(previous, StandardCharsets.UTF_8)) {
            Round.of(1, select).carryOver(in, redrive.toString(), sink, master);
        }
    }

    /** The master here, the workers as child processes, RabbitMQ between them. */
    private int runOnBroker(BatchFile batch, ProgressPrinter.Mode mode, Duration interval, PrintWriter err) throws Exception {
        BrokerAddress address = broker.resolveOrReport(err);
        if (address == null) return ExitCodes.INVALID;
        WorkerProcesses[] processes = new WorkerProcesses[1];
        ProgressPrinter printer = new ProgressPrinter(batch.plan().name(), err, mode);
        printer.start();
        Master[] master = new Master[1];
        CountDownLatch ended = new CountDownLatch(1);
        // Ctrl-C or SIGTERM: the workers finish their running tasks within the grace (SIGTERM to each), then the
        // master stores what they finished, cancels the rest, ends the batch on the broker and prints the summary
        Thread onExit = Thread.ofPlatform().name("taskbatch-shutdown").unstarted(() -> {
            try {
                if (processes[0] != null) processes[0].terminate(Duration.ofSeconds(graceSeconds));
                if (master[0] != null) master[0].stop("stopped by a signal (SIGTERM or Ctrl-C)");
                ended.await(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        if (!WorkerCommand.addHook(onExit)) return ExitCodes.FAILED;
        try {
            BatchOutcome outcome = BrokerRun.runMaster(batch, address, BrokerWait.once(), output, null, false, printer, interval,
                    () -> processes[0] = new WorkerProcesses(manifestFile, workerProcesses, workers, address, graceSeconds, shards.shards,
                            TaskExecutors.needsOptimizingCompiler(batch.plan().spec().getRun(), handlers)),
                    null, started -> master[0] = started, Round.FIRST, null);
            WorkerCommand.removeHook(onExit);
            return outcome.succeeded() ? ExitCodes.SUCCEEDED : ExitCodes.FAILED;
        } catch (IOException | TimeoutException e) {
            err.println("cannot use the broker " + address + ": " + BrokerAddress.describe(e));
            return ExitCodes.UNAVAILABLE;
        } finally {
            if (processes[0] != null) {
                processes[0].finish(Duration.ofSeconds(30));
                // its own workers are gone: the finished marker (kept for late workers) has nobody left to tell
                BrokerRun.deleteFinishedMarker(address, batch.queues());
            }
            ended.countDown(); // last: on a signal, the JVM exits once this is done
        }
    }
}
