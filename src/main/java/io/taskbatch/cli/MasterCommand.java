package io.taskbatch.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.Master;
import io.taskbatch.master.MasterState;
import io.taskbatch.master.Round;
import io.taskbatch.api.RedriveSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.queue.amqp.BrokerWait;
import org.jboss.logging.Logger;
import io.taskbatch.worker.TaskHandlers;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.cluster.MasterStatusWriter;
import io.taskbatch.cluster.ResultsConfigMapWriter;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.ArgGroup;
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
                "2:invalid manifest or arguments, or the broker refused the credentials (or virtual host, or TLS trust); "
                        + "nothing was run",
                "3:the broker could not be reached within --broker-wait"},
        footer = {"%nWith --batch the outcome goes to the TaskBatch's status and the exit code is 0 once the",
                "batch is decided, either way."})
public class MasterCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(MasterCommand.class);

    @ArgGroup(exclusive = true, multiplicity = "1")
    BatchSource source;

    static class BatchSource {
        @Option(names = "--manifest", paramLabel = "FILE", description = "The TaskBatch manifest (YAML).")
        Path manifestFile;

        @Option(names = "--batch", paramLabel = "NAMESPACE/NAME",
                description = "Run this TaskBatch of the cluster and report its progress in its status.")
        String batchRef;
    }

    @Option(names = "--results-configmap", paramLabel = "NAME",
            description = "With --batch: at the end, copy the results into this ConfigMap (capped).")
    String resultsConfigMap;

    @Option(names = "--results-max-bytes", paramLabel = "BYTES", defaultValue = "900000",
            description = "Cap of --results-configmap (default ${DEFAULT-VALUE}).")
    int resultsMaxBytes;

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

    @Option(names = "--round", paramLabel = "N", defaultValue = "0",
            description = "The round to run: 0 (default) is the batch's first run; a later one runs again the tasks "
                    + "--redrive selects from the previous round's results (--output, or --results-configmap) and keeps the others.")
    int round;

    @Option(names = "--redrive", paramLabel = "KIND", split = ",", defaultValue = "failed,dead,cancelled",
            description = "With --round: which previous results run again: failed, dead, cancelled (default all three).")
    List<String> redrive;

    @Mixin
    BrokerOptions broker;

    @Mixin
    ShardsOption shards = new ShardsOption();

    @Option(names = "--broker-wait", paramLabel = "DURATION", defaultValue = "forever", description = BrokerRun.BROKER_WAIT_HELP)
    String brokerWait;

    @Inject
    TaskHandlers handlers;

    @Inject
    Instance<KubernetesClient> kubernetes;

    @Inject
    RoleReadiness readiness;

    @Inject
    MeterRegistry registry;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        boolean onCluster = source.batchRef != null;
        BatchFile batch = onCluster ? ClusterBatch.fromApi(kubernetes.get(), source.batchRef, handlers, err)
                : BatchFile.load(source.manifestFile, volumes, handlers, err);
        if (batch == null || !shards.apply(batch, err)) return ExitCodes.INVALID;
        if (resultsConfigMap != null && (!onCluster || stateDir == null)) {
            err.println("--results-configmap needs --batch and --state-dir");
            return ExitCodes.INVALID;
        }
        if (round < 0 || !RedriveSpec.KINDS.containsAll(redrive)) {
            err.println("--round must be >= 0 and --redrive a list of " + String.join(", ", RedriveSpec.KINDS));
            return ExitCodes.INVALID;
        }
        if (round > 0 && stateDir == null) {
            err.println("--round needs --state-dir: the previous round's results become the first of this round's there");
            return ExitCodes.INVALID;
        }
        BrokerAddress address = broker.resolveOrReport(err);
        if (address == null) return ExitCodes.INVALID;
        ProgressPrinter.Mode mode = ProgressPrinter.Mode.parse(progress, err);
        if (mode == null) return ExitCodes.INVALID;
        BrokerWait wait = BrokerRun.brokerWait(brokerWait, LOG, err);
        if (wait == null) return ExitCodes.INVALID;
        readiness.serve("master", () -> false, "connecting to the broker and declaring the batch's queues");
        Path results = results(stateDir);
        ProgressListener listener = new ProgressPrinter(batch.plan().name(), err, mode);
        AtomicReference<Master> running = new AtomicReference<>();
        if (onCluster) {
            listener = listener.andThen(statusWriter(batch, results).inRound(round).onCancel(() -> {
                Master master = running.get();
                if (master != null) master.stop(MasterStatusWriter.CANCELLED);
            }));
        }
        try {
            BatchOutcome outcome = BrokerRun.runMaster(batch, address, wait, results, stateDir, keepQueues,
                    listener, Duration.ofSeconds(1), () -> readiness.serve("master", () -> true, ""), registry,
                    // SIGTERM on a cluster (a pod moved, evicted) must not end the batch: a new master resumes it;
                    // a cancel (spec.cancel) does
                    running::set, Round.of(round, redrive), previousResults(batch, results));
            // on a cluster the status tells the outcome; a nonzero exit would only restart the master
            return outcome.succeeded() || onCluster ? ExitCodes.SUCCEEDED : ExitCodes.FAILED;
        } catch (BrokerWait.Refused | BrokerWait.GaveUp e) {
            err.println(e.getMessage());
            return e instanceof BrokerWait.Refused ? ExitCodes.INVALID : ExitCodes.UNAVAILABLE;
        } catch (IOException | TimeoutException e) {
            err.println("cannot use the broker " + address + ": " + BrokerAddress.describe(e));
            return ExitCodes.UNAVAILABLE;
        }
    }

    private Path results(Path stateDir) {
        return output != null ? output : stateDir != null ? stateDir.resolve("results.jsonl") : null;
    }

    /**
     * Where a redrive finds the previous round's results: the results ConfigMap (the state of the previous round's
     * master went with its pod), else the results file itself.
     */
    private MasterState.PreviousResults previousResults(BatchFile batch, Path results) {
        if (resultsConfigMap == null) return () -> Files.newBufferedReader(results, StandardCharsets.UTF_8);
        return () -> {
            ConfigMap map = kubernetes.get().configMaps().inNamespace(batch.plan().namespace()).withName(resultsConfigMap).get();
            String text = map == null || map.getData() == null ? null : map.getData().get(ResultsConfigMapWriter.KEY);
            if (text == null) throw new IOException("ConfigMap " + resultsConfigMap + " has no key " + ResultsConfigMapWriter.KEY);
            return new BufferedReader(new StringReader(text));
        };
    }

    private MasterStatusWriter statusWriter(BatchFile batch, Path results) {
        KubernetesClient client = kubernetes.get();
        String namespace = batch.plan().namespace();
        String name = batch.plan().name();
        if (resultsConfigMap != null) {
            return new MasterStatusWriter(client, namespace, name, "ConfigMap " + resultsConfigMap + " when the batch is over",
                    new ResultsConfigMapWriter(client, namespace, resultsConfigMap, results, resultsMaxBytes));
        }
        String where = results != null ? "file " + results : "the master's log";
        return new MasterStatusWriter(client, namespace, name, where, progress -> where);
    }
}
