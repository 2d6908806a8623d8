package io.taskbatch.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.taskbatch.api.RunSpec;
import io.taskbatch.metrics.WorkerMetrics;
import io.taskbatch.queue.amqp.AmqpWorkerTransport;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.queue.amqp.BrokerWait;
import io.taskbatch.worker.TaskExecutor;
import io.taskbatch.worker.TaskHandlers;
import io.taskbatch.worker.Worker;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code taskbatch worker}: runs a batch's tasks from RabbitMQ until the batch is done. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = {"Take a batch's tasks from RabbitMQ, run them and send back their results, until the",
                "master says the batch is done. On SIGTERM it stops taking tasks and finishes the running",
                "ones within --grace; what it still holds goes back to the queue."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the batch is done (or was over before this worker started)", "1:stopped before the batch was done",
                "2:invalid manifest or arguments, or the broker refused the credentials (or virtual host, or TLS trust)",
                "3:the broker or the batch's queues were not there within --broker-wait"},
        footer = {"%nA worker started before the broker or the master waits for them (see --broker-wait): not being",
                "there yet is never an error."})
public class WorkerCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(WorkerCommand.class);

    @ArgGroup(exclusive = true, multiplicity = "1")
    MasterCommand.BatchSource source;

    @Option(names = "--slots", paramLabel = "N",
            description = "Tasks run at once (default: spec.workers.concurrency, else one per core).")
    Integer slots;

    @Option(names = "--prefetch", paramLabel = "N",
            description = "Tasks a slot may hold (default: spec.workers.prefetch, else adapt to the workload).")
    Integer prefetch;

    @Option(names = "--name", paramLabel = "NAME", description = "This worker's name in results (default: host and pid).")
    String name;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "25",
            description = "On SIGTERM, how long running tasks may take to finish (default ${DEFAULT-VALUE}).")
    int graceSeconds;

    @Option(names = "--volume", paramLabel = "CLAIM=DIR", description = "Where a claim of spec.tasks.files is mounted.")
    Map<String, Path> volumes;

    @Option(names = "--round", paramLabel = "N", defaultValue = "0",
            description = "The batch's round to work on: 0 (default) is its first run, each redrive one more.")
    int round;

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
        WorkerProcesses.exitWithParent(LOG);
        BatchFile batch = source.batchRef == null ? BatchFile.load(source.manifestFile, volumes, handlers, err)
                : ClusterBatch.forWorker(kubernetes::get, source.batchRef, handlers, err);
        if (batch == null || !shards.apply(batch, err)) return ExitCodes.INVALID;
        BrokerAddress address = broker.resolveOrReport(err);
        if (address == null) return ExitCodes.INVALID;
        int slotCount = batch.slots(slots);
        int fixedPrefetch = prefetch != null ? prefetch : batch.plan().spec().getWorkers().getPrefetch();
        String workerName = name != null ? name : hostName() + "/" + ProcessHandle.current().pid();
        BrokerWait wait = BrokerRun.brokerWait(brokerWait, LOG, err);
        if (wait == null) return ExitCodes.INVALID;
        readiness.serve("worker", () -> false, "connecting to the broker");
        // SIGTERM while waiting: stop waiting (the JVM is going down anyway; do not hold it up)
        Thread main = Thread.currentThread();
        Thread onTermWhileWaiting = Thread.ofPlatform().name("taskbatch-sigterm-wait").unstarted(main::interrupt);
        if (!addHook(onTermWhileWaiting)) return ExitCodes.FAILED; // SIGTERM came while starting
        AmqpWorkerTransport transport;
        try {
            transport = AmqpWorkerTransport.connect(address, batch.queues().inRound(round), workerName, fixedPrefetch,
                    batch.plan().taskTimeout(), wait);
        } catch (BrokerWait.Refused | BrokerWait.GaveUp e) {
            err.println(e.getMessage());
            return e instanceof BrokerWait.Refused ? ExitCodes.INVALID : ExitCodes.UNAVAILABLE;
        } catch (IOException | TimeoutException e) {
            err.println("cannot use the broker " + address + ": " + BrokerAddress.describe(e));
            return ExitCodes.UNAVAILABLE;
        } catch (InterruptedException e) {
            return ExitCodes.FAILED;
        }
        readiness.serve("worker", () -> false, "waiting for the master to declare the batch's queues");
        try (transport; TaskExecutor executor = batch.executor(handlers, slotCount)) {
            try {
                if (!transport.awaitReady(wait, batch.plan().id())) {
                    LOG.infof("batch %s is already over", batch.plan().id());
                    return ExitCodes.SUCCEEDED;
                }
            } catch (BrokerWait.GaveUp e) {
                err.println(e.getMessage());
                return ExitCodes.UNAVAILABLE;
            } catch (InterruptedException e) {
                return ExitCodes.FAILED;
            }
            if (!removeHook(onTermWhileWaiting)) return ExitCodes.FAILED;
            WorkerMetrics metrics = new WorkerMetrics(registry, batch.plan().namespace() == null ? "local" : batch.plan().namespace(),
                    batch.plan().name(), executorKind(batch.plan().spec().getRun()));
            StartupClock clock = StartupClock.of(LOG, "worker");
            metrics.whenFirstResultConfirmed(clock::firstResult);
            transport.measure(metrics);
            Worker worker = new Worker(new Worker.Settings(batch.plan().id(), workerName, slotCount, batch.plan().retry(),
                    batch.plan().taskTimeout()), executor, transport, metrics);
            Thread onTerm = Thread.ofPlatform().name("taskbatch-sigterm").unstarted(() -> {
                try {
                    worker.stop(Duration.ofSeconds(graceSeconds));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            if (!addHook(onTerm)) return ExitCodes.FAILED;
            worker.start();
            readiness.serve("worker", transport::consuming, "the batch's queues are not there (a master starting afresh "
                    + "declares them again), or the batch is over");
            LOG.infof("worker %s runs %s with %d slots", workerName, batch.plan().id(), slotCount);
            while (!worker.awaitTermination(Duration.ofSeconds(1))) {
                // the slots end when the batch is over (or on SIGTERM)
            }
            try {
                Runtime.getRuntime().removeShutdownHook(onTerm);
            } catch (IllegalStateException shuttingDown) {
                return ExitCodes.FAILED;
            }
            worker.close();
            clock.spent();
            return transport.finished() ? ExitCodes.SUCCEEDED : ExitCodes.FAILED;
        }
    }

    /** The duration histogram's executor label. */
    static String executorKind(RunSpec run) {
        return run.getBuiltin() != null ? "builtin" : run.getProcessPool() != null ? "processPool" : "command";
    }

    /** Adds a shutdown hook; false when the JVM is already shutting down (SIGTERM came), the hook not added. */
    static boolean addHook(Thread hook) {
        try {
            Runtime.getRuntime().addShutdownHook(hook);
            return true;
        } catch (IllegalStateException shuttingDown) {
            return false;
        }
    }

    /** False when the JVM is already shutting down (SIGTERM came). */
    static boolean removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
            return true;
        } catch (IllegalStateException shuttingDown) {
            return false;
        }
    }

    private static String hostName() {
        String host = System.getenv("HOSTNAME");
        if (host != null && !host.isBlank()) return host;
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "worker";
        }
    }
}
