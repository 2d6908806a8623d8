package io.taskbatch.cli;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.micrometer.core.instrument.MeterRegistry;
import io.taskbatch.metrics.MasterMetrics;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.JsonLinesSink;
import io.taskbatch.master.Master;
import io.taskbatch.master.Round;
import io.taskbatch.master.MasterState;
import io.taskbatch.master.Progress;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.ResultSink;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.amqp.AmqpMasterTransport;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.queue.amqp.BrokerWait;
import io.taskbatch.plan.GoDuration;
import java.io.PrintWriter;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/** The master of a batch over RabbitMQ, with its results file and checkpoint when it has a state dir. */
final class BrokerRun {
    private static final Logger LOG = Logger.getLogger(BrokerRun.class);
    /** Tasks published but not yet confirmed, at most (back-pressure on the source). */
    static final int MAX_UNCONFIRMED = 1000;

    private BrokerRun() {
    }

    /**
     * @param output   results file (appended to when resuming), or null for stdout
     * @param stateDir where the checkpoint lives; null: no resume
     */
    static BatchOutcome runMaster(BatchFile batch, BrokerAddress broker, Path output, Path stateDir, boolean keepQueues,
                                  ProgressListener listener, Duration progressInterval, QueuesReady onQueuesReady)
            throws IOException, InterruptedException, TimeoutException {
        return runMaster(batch, broker, BrokerWait.once(), output, stateDir, keepQueues, listener, progressInterval, onQueuesReady,
                null, master -> { }, Round.FIRST, null);
    }

    /** As above, waiting for the broker at start as {@code wait} says, and showing the batch in {@code metrics} (if not null). */
    static BatchOutcome runMaster(BatchFile batch, BrokerAddress broker, BrokerWait wait, Path output, Path stateDir,
                                  boolean keepQueues, ProgressListener listener, Duration progressInterval,
                                  QueuesReady onQueuesReady, MeterRegistry metrics, Consumer<Master> started,
                                  Round round, MasterState.PreviousResults previous)
            throws IOException, InterruptedException, TimeoutException {
        MasterState state = stateDir == null ? null
                : MasterState.openRound(stateDir, output, batch.queues().prefix(), round, previous);
        boolean resuming = state != null && state.resuming();
        try (AmqpMasterTransport transport = new AmqpMasterTransport(broker, batch.queues().inRound(round.number()),
                batch.plan().retry().maxAttempts(), batch.retryDelays(), MAX_UNCONFIRMED, state == null || state.freshQueues(),
                keepQueues, wait);
             ResultSink sink = firstResultClocked(new JsonLinesSink(open(output, state != null, listener), output != null))) {
            onQueuesReady.run();
            Master master = new Master(new Master.Settings(batch.plan().id(), batch.plan().maxFailedTasks(), progressInterval,
                    state == null ? listener : listener.andThen(checkpointer(state, transport)), stallLimit(batch.plan().taskTimeout())));
            started.accept(master);
            if (metrics != null) {
                MasterMetrics.register(metrics, batch.plan().namespace() == null ? "local" : batch.plan().namespace(),
                        batch.plan().name(), master::progress, transport::queueDepths);
            }
            if (resuming && state.freshQueues()) {
                LOG.infof("round %d of %s: the %s tasks run again; the other results are kept", round.number(),
                        batch.plan().id(), round.describe());
                master.resume(state.storedResults(), 0);
            } else if (resuming) {
                LOG.infof("resuming %s: tasks before %d are on the broker or done", batch.plan().id(), state.confirmedPrefix());
                master.resume(state.storedResults(), state.confirmedPrefix());
            }
            BatchOutcome outcome = master.run(batch.source(), transport, sink);
            if (state != null) state.checkpoint(transport.confirmedPrefix());
            LOG.debugf("%s came on the result queues", transport.resultsPerMessage());
            if (transport.malformedDeadLetters() > 0) {
                LOG.warnf("%s dead-lettered during the batch", Plural.of(transport.malformedDeadLetters(), "malformed message"));
            }
            return outcome;
        }
    }

    /** {@code sink}, logging once how long after the process's start the first result was stored (see {@link StartupClock}). */
    private static ResultSink firstResultClocked(ResultSink sink) {
        StartupClock clock = StartupClock.of(LOG, "master");
        return new ResultSink() {
            @Override
            public void write(ResultMessage result) throws IOException {
                sink.write(result);
                clock.firstResult();
            }

            @Override
            public void flush() throws IOException {
                sink.flush();
            }

            @Override
            public void close() throws IOException {
                sink.close();
                clock.spent();
            }
        };
    }

    /** What {@code --broker-wait} says in its help. */
    static final String BROKER_WAIT_HELP = "How long to wait for the broker (and a worker for the batch's queues) at start, "
            + "retrying with back-off from 0.5 s to 10 s: a duration such as 30s or 5m, or forever (default ${DEFAULT-VALUE}).";

    /** The wait {@code --broker-wait} asks for, logging to {@code log}; null after telling {@code err} what is wrong. */
    static BrokerWait brokerWait(String flag, Logger log, PrintWriter err) {
        Duration limit;
        if (flag == null || flag.isBlank() || flag.equalsIgnoreCase("forever")) {
            limit = null;
        } else {
            try {
                limit = GoDuration.parse(flag.strip());
            } catch (IllegalArgumentException e) {
                err.println("--broker-wait: " + e.getMessage());
                return null;
            }
        }
        return new BrokerWait(limit, log::info);
    }

    /** Deletes the batch's finished marker, quietly: nothing is lost if the broker is away (it expires anyway). */
    static void deleteFinishedMarker(BrokerAddress broker, BatchQueues queues) {
        try (Connection connection = BrokerWait.once().connect(broker, "taskbatch-run " + queues.prefix());
             Channel channel = connection.createChannel()) {
            channel.queueDelete(queues.finished());
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.debugf("the finished marker of %s stays until it expires: %s", queues.prefix(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Called once the batch's queues exist: workers may start. */
    @FunctionalInterface
    interface QueuesReady {
        void run() throws IOException;
    }

    /**
     * The results file, or stdout (through the progress bar's guard when the bar is on the same terminal). The file is
     * appended to under a state dir (whose {@link MasterState} emptied it for a fresh batch and keeps it when resuming),
     * else written afresh, as {@code run} in memory does: a batch run again to the same file must not count the earlier
     * run's lines beside its own.
     */
    private static OutputStream open(Path output, boolean stateKeepsIt, ProgressListener listener) throws IOException {
        if (output != null) return new FileOutputStream(output.toFile(), stateKeepsIt);
        return listener instanceof ProgressPrinter printer ? printer.guard(System.out, ProgressPrinter.stdoutIsTerminal()) : System.out;
    }

    private static ProgressListener checkpointer(MasterState state, AmqpMasterTransport transport) {
        return (Progress p) -> {
            try {
                state.checkpoint(transport.confirmedPrefix());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the checkpoint", e);
            }
        };
    }

    /**
     * How long a batch with every task published may go without a result before its open tasks are published again (if
     * none waits in the queues): a live worker answers within twice the task timeout (it may hold a task that long
     * before it runs it, then run it that long), plus a margin for the broker's confirms and redeliveries.
     */
    static Duration stallLimit(Duration taskTimeout) {
        return taskTimeout.multipliedBy(2).plusSeconds(10);
    }
}
