package io.taskbatch.queue.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.taskbatch.queue.MasterTransport;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The master's side of a batch on RabbitMQ. Tasks are published with confirms; at most
 * {@code maxUnconfirmed} may await their confirm (back-pressure), kept by sequence number so that
 * what a broker restart swallowed is published again; with several shards a task goes to the shard its id
 * picks. Results of every shard and dead letters are consumed from one channel and acknowledged only after the
 * master stored them.
 */
public final class AmqpMasterTransport implements MasterTransport, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AmqpMasterTransport.class);
    private static final int RESULT_PREFETCH = 2000;

    private final BatchQueues queues;
    private final Connection connection;
    private final Channel publishChannel;
    private final Channel resultChannel;
    private final Semaphore unconfirmedPermits;
    // seqNo -> task: published, not yet confirmed. Written by the publisher, cleared by the confirm listener.
    private final ConcurrentSkipListMap<Long, TaskMessage> unconfirmed = new ConcurrentSkipListMap<>();
    private final ConcurrentLinkedQueue<TaskMessage> toRepublish = new ConcurrentLinkedQueue<>();
    // held while a task gets its sequence number and is sent, and while a channel shutdown
    // moves what was unconfirmed back to be published again: the two must not interleave
    private final ReentrantLock publishLock = new ReentrantLock();
    private final LinkedBlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final AtomicLong malformedDeadLetters = new AtomicLong();
    // messages that came on the result queues, and the results in them (several to a message from our workers)
    private final AtomicLong resultMessages = new AtomicLong();
    private final AtomicLong resultsIn = new AtomicLong();
    private final AtomicLong nextUnpublishedId = new AtomicLong();
    private final int retryQueues;
    private final boolean keepQueues;
    private final int deliveryLimit;

    /** A result (or dead task) and the channel tag to acknowledge it with (0: one of several in a message, not its last). */
    private record Received(ResultMessage result, long tag) implements ResultDelivery {
    }

    public AmqpMasterTransport(BrokerAddress broker, BatchQueues queues, int deliveryLimit, List<Duration> retryDelays,
                               int maxUnconfirmed, boolean freshStart, boolean keepQueues) throws IOException, TimeoutException {
        this(broker, queues, deliveryLimit, retryDelays, maxUnconfirmed, freshStart, keepQueues, BrokerWait.once());
    }

    /** As above, waiting for the broker as {@code wait} says (interruption ends the wait with an IOException). */
    public AmqpMasterTransport(BrokerAddress broker, BatchQueues queues, int deliveryLimit, List<Duration> retryDelays,
                               int maxUnconfirmed, boolean freshStart, boolean keepQueues, BrokerWait wait)
            throws IOException, TimeoutException {
        this.queues = queues;
        this.deliveryLimit = deliveryLimit;
        this.retryQueues = retryDelays.size();
        this.keepQueues = keepQueues;
        this.unconfirmedPermits = new Semaphore(maxUnconfirmed);
        try {
            this.connection = wait.connect(broker, "taskbatch-master " + queues.prefix());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the broker at " + broker, e);
        }
        try {
            holdMasterLock(wait);
        } catch (IOException | RuntimeException e) {
            closeQuietly(connection);
            throw e;
        } catch (InterruptedException e) {
            closeQuietly(connection);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for another master of the batch", e);
        }
        try (Channel setup = connection.createChannel()) {
            if (freshStart) {
                // a batch starting afresh owns its queues: nothing a previous run left may count
                queues.delete(setup, retryQueues);
                setup.queueDelete(queues.finished());
            }
            queues.declare(setup, deliveryLimit, retryDelays);
        }
        this.publishChannel = connection.createChannel();
        publishChannel.confirmSelect();
        publishChannel.addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long seq, boolean multiple) {
                settle(seq, multiple, false);
            }

            @Override
            public void handleNack(long seq, boolean multiple) {
                settle(seq, multiple, true);
            }
        });
        // a lost channel takes its pending confirms with it: whatever was unconfirmed goes out again
        publishChannel.addShutdownListener(cause -> {
            publishLock.lock();
            try {
                toRepublish.addAll(unconfirmed.values());
                unconfirmed.clear();
            } finally {
                publishLock.unlock();
            }
        });
        this.resultChannel = connection.createChannel();
        resultChannel.basicQos(RESULT_PREFETCH);
        DefaultConsumer resultConsumer = new DefaultConsumer(resultChannel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                long deliveryTag = envelope.getDeliveryTag();
                resultMessages.incrementAndGet();
                if (MessageCodec.holdsSeveralResults(props.getType())) {
                    List<ResultMessage> results = MessageCodec.decodeResults(body,
                            reason -> LOG.warnf("dropped a malformed result in a message of several: %s", reason));
                    resultsIn.addAndGet(results.size());
                    if (results.isEmpty()) ackQuietly(deliveryTag);
                    // the message is acknowledged with its last result: ackAll acknowledges none that is only partly stored
                    for (int i = 0; i < results.size(); i++) {
                        received.add(new Received(results.get(i), i == results.size() - 1 ? deliveryTag : 0));
                    }
                    return;
                }
                try {
                    received.add(new Received(MessageCodec.decodeResult(body), deliveryTag));
                    resultsIn.incrementAndGet();
                } catch (MessageCodec.MalformedMessageException e) {
                    LOG.warnf("dropped a malformed result message: %s", e.getMessage());
                    ackQuietly(deliveryTag);
                }
            }
        };
        DefaultConsumer deadConsumer = new DefaultConsumer(resultChannel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                String reason = deadReason(props);
                try {
                    TaskMessage task = MessageCodec.decodeTask(body);
                    received.add(new Received(deadResult(task, props, deliveryLimit), envelope.getDeliveryTag()));
                } catch (MessageCodec.MalformedMessageException e) {
                    // not a task of this batch: nothing to count, keep the tally for the summary
                    malformedDeadLetters.incrementAndGet();
                    LOG.warnf("a malformed message was dead-lettered (%s): %s", reason, e.getMessage());
                    ackQuietly(envelope.getDeliveryTag());
                }
            }
        };
        // every shard's results on this one channel: its delivery tags stay one sequence, so ackAll's multiple-ack holds
        for (int shard = 0; shard < queues.shards(); shard++) {
            resultChannel.basicConsume(queues.results(shard), false, "taskbatch-master-results" + (shard == 0 ? "" : "." + shard),
                    resultConsumer);
        }
        resultChannel.basicConsume(queues.dead(), false, "taskbatch-master-dead", deadConsumer);
    }

    private void ackQuietly(long tag) {
        try {
            resultChannel.basicAck(tag, false);
        } catch (IOException | ShutdownSignalException e) {
            LOG.debugf("could not ack %d: %s", tag, e.getMessage());
        }
    }

    private static String deadReason(AMQP.BasicProperties props) {
        Map<String, Object> headers = props.getHeaders();
        if (headers == null) return "dead-lettered";
        Object ours = headers.get(BatchQueues.REASON_HEADER);
        if (ours != null) return ours.toString();
        Object first = headers.get("x-first-death-reason");
        return first == null ? "dead-lettered" : "dead-lettered (" + first + ")";
    }

    /**
     * The result of a task the broker dead-lettered. The dead-lettered copy of a quorum-queue message
     * carries no {@code x-delivery-count}; its {@code x-death} says why. A quorum queue dead-letters a
     * message once a return raises its delivery count above the limit, so it was delivered
     * {@code limit + 1} times, each time to a worker that never answered. Its attempts are those
     * deliveries plus the attempts that failed before this message was published (a retry is a new message).
     */
    static ResultMessage deadResult(TaskMessage task, AMQP.BasicProperties props, int deliveryLimit) {
        Map<String, Object> headers = props.getHeaders();
        if (headers != null && headers.get(BatchQueues.REASON_HEADER) != null) {
            return ResultMessage.dead(task, task.attempt(), "dead: " + headers.get(BatchQueues.REASON_HEADER));
        }
        boolean limit = "delivery_limit".equals(deathReason(headers));
        if (limit && String.valueOf(deathQueue(headers)).endsWith(".suspects")) {
            // it died once beside other tasks, then every time it ran alone: it is the cause
            int alone = Math.max(countHeader(headers), deliveryLimit);
            return ResultMessage.dead(task, task.attempt() + alone, "dead: its worker died each time it ran it, "
                    + (alone == 1 ? "once" : alone + " times") + " with no other task running (after once beside others); "
                    + "gave up at the delivery limit (retry.maxAttempts=" + deliveryLimit + ")");
        }
        int deliveries = countHeader(headers);
        if (limit) deliveries = Math.max(deliveries, deliveryLimit + 1);
        int attempts = task.attempt() - 1 + Math.max(1, deliveries);
        String error = limit
                ? "dead: the workers it was delivered to died (or lost their connection) " + deliveries + " times before it "
                        + "had a result; gave up at the delivery limit (retry.maxAttempts=" + deliveryLimit + ")"
                : "dead: " + deadReason(props) + (deliveries > 0 ? " after " + deliveries + " deliveries" : "");
        return ResultMessage.dead(task, attempts, error);
    }

    /** The queue of the latest death in {@code x-death}, else {@code x-first-death-queue}. */
    private static Object deathQueue(Map<String, Object> headers) {
        if (headers == null) return null;
        if (headers.get("x-death") instanceof List<?> deaths && !deaths.isEmpty() && deaths.get(0) instanceof Map<?, ?> last
                && last.get("queue") != null) {
            return last.get("queue").toString();
        }
        return headers.get("x-first-death-queue");
    }

    /** The reason of the latest death in {@code x-death}, else {@code x-first-death-reason}. */
    private static String deathReason(Map<String, Object> headers) {
        if (headers == null) return null;
        if (headers.get("x-death") instanceof List<?> deaths && !deaths.isEmpty() && deaths.get(0) instanceof Map<?, ?> last
                && last.get("reason") != null) {
            return last.get("reason").toString();
        }
        Object first = headers.get("x-first-death-reason");
        return first == null ? null : first.toString();
    }

    /** The deliveries a header still tells, if any (0 when none does). */
    private static int countHeader(Map<String, Object> headers) {
        Object count = headers == null ? null : headers.get("x-delivery-count");
        return count instanceof Number n ? n.intValue() + 1 : 0;
    }

    private void settle(long seq, boolean multiple, boolean nacked) {
        var done = multiple ? unconfirmed.headMap(seq, true) : unconfirmed.subMap(seq, true, seq, true);
        int n = 0;
        for (var it = done.entrySet().iterator(); it.hasNext(); ) {
            var entry = it.next();
            it.remove();
            if (nacked) {
                toRepublish.add(entry.getValue());
            } else {
                n++;
            }
        }
        if (n > 0) unconfirmedPermits.release(n);
    }

    @Override
    public void publish(TaskMessage task) throws InterruptedException {
        unconfirmedPermits.acquire();
        send(task);
        nextUnpublishedId.accumulateAndGet(task.id() + 1, Math::max);
    }

    /** Publishes on the publisher's thread, first again whatever a nack or a recovery left unconfirmed. */
    private void send(TaskMessage task) throws InterruptedException {
        while (true) {
            try {
                TaskMessage again;
                while ((again = toRepublish.poll()) != null) basicPublish(again);
                if (task != null) basicPublish(task);
                return;
            } catch (IOException | ShutdownSignalException e) {
                LOG.warnf("publishing waits for the broker: %s", e.getMessage());
                Thread.sleep(500);
            }
        }
    }

    private void basicPublish(TaskMessage task) throws IOException {
        publishLock.lock();
        try {
            long seq = publishChannel.getNextPublishSeqNo();
            unconfirmed.put(seq, task);
            try {
                publishChannel.basicPublish("", queues.tasks(queues.shardOf(task.id())), MessageCodec.taskProperties(task), MessageCodec.encode(task));
            } catch (IOException | RuntimeException e) {
                unconfirmed.remove(seq);
                toRepublish.add(task);
                throw e;
            }
        } finally {
            publishLock.unlock();
        }
    }

    @Override
    public void awaitPublished() throws InterruptedException {
        while (!unconfirmed.isEmpty() || !toRepublish.isEmpty()) {
            send(null);
            Thread.sleep(5);
        }
    }

    /**
     * Ids below this were all published and confirmed: a restarted master need not publish them again.
     */
    public long confirmedPrefix() {
        long next = nextUnpublishedId.get();
        long lowest = next;
        for (TaskMessage t : unconfirmed.values()) lowest = Math.min(lowest, t.id());
        for (TaskMessage t : toRepublish) lowest = Math.min(lowest, t.id());
        return lowest;
    }

    /**
     * Messages ready in the batch's queues now, by {@code tasks} and {@code results} (all shards), {@code retry} (all retry queues),
     * and {@code dead}: one passive declare each, on a throwaway channel.
     *
     * @throws java.io.UncheckedIOException when the broker cannot answer now
     */
    public Map<String, Long> queueDepths() {
        try (Channel ch = connection.createChannel()) {
            long retry = 0;
            for (int i = 1; i <= retryQueues; i++) retry += ch.queueDeclarePassive(queues.retry(i)).getMessageCount();
            long tasks = 0;
            long results = 0;
            for (int shard = 0; shard < queues.shards(); shard++) {
                tasks += ch.queueDeclarePassive(queues.tasks(shard)).getMessageCount();
                results += ch.queueDeclarePassive(queues.results(shard)).getMessageCount();
            }
            return Map.of("tasks", tasks, "retry", retry, "results", results,
                    "dead", (long) ch.queueDeclarePassive(queues.dead()).getMessageCount());
        } catch (IOException | TimeoutException | ShutdownSignalException e) {
            throw new java.io.UncheckedIOException(new IOException("cannot read the queue depths: " + e.getMessage(), e));
        }
    }

    /** Tasks ready in the task queues, the retry queues or the suspects; true when the broker cannot answer now. */
    @Override
    public boolean tasksWaiting() {
        try {
            Map<String, Long> depths = queueDepths();
            if (depths.get("tasks") + depths.get("retry") > 0) return true;
            try (Channel ch = connection.createChannel()) {
                return ch.queueDeclarePassive(queues.suspects()).getMessageCount() > 0;
            }
        } catch (java.io.UncheckedIOException | IOException | TimeoutException | ShutdownSignalException e) {
            LOG.debugf("cannot tell whether tasks wait in the queues: %s", e.getMessage());
            return true;
        }
    }

    /** Thrown when another master runs this batch on this broker and does not stop within the wait. */
    public static final class AnotherMaster extends IOException {
        AnotherMaster(String message) {
            super(message);
        }
    }

    /**
     * Declares the batch's exclusive master queue on this connection, waiting as {@code wait} says while another
     * master's connection holds it (a master pod that was just replaced, whose connection the broker has not
     * dropped yet).
     *
     * @throws AnotherMaster when the other master still holds it when the wait is over
     */
    private void holdMasterLock(BrokerWait wait) throws IOException, InterruptedException {
        String lock = queues.master();
        IOException[] failed = {null};
        boolean held = wait.until(() -> {
            Channel ch = connection.createChannel();
            try {
                ch.queueDeclare(lock, false, true, true, Map.of());
                return true;
            } catch (IOException e) {
                if (isLocked(e)) return false;
                failed[0] = e; // not another master: nothing to wait for
                return true;
            }
        }, "another master runs this batch on the broker (its connection holds " + lock + "); waiting for it to end",
                () -> "the other master of this batch is gone");
        if (failed[0] != null) throw failed[0];
        if (!held) {
            throw new AnotherMaster("another master is running this batch on the broker (its connection holds the "
                    + "exclusive queue " + lock + "): wait for it to finish or stop it, or give this batch another name");
        }
    }

    private static boolean isLocked(IOException e) {
        return e.getCause() instanceof ShutdownSignalException s && !s.isHardError()
                && s.getReason() instanceof AMQP.Channel.Close close && close.getReplyCode() == AMQP.RESOURCE_LOCKED;
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close(5_000);
        } catch (IOException | ShutdownSignalException e) {
            LOG.debugf("closing the connection: %s", e.getMessage());
        }
    }

    public long malformedDeadLetters() {
        return malformedDeadLetters.get();
    }

    /** How the results came: "N results in M messages" (a worker sends several to a message). */
    public String resultsPerMessage() {
        return "%d results in %d messages".formatted(resultsIn.get(), resultMessages.get());
    }

    @Override
    public List<ResultDelivery> pollResults(int max, Duration timeout) throws InterruptedException {
        Received first = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (first == null) return List.of();
        List<ResultDelivery> out = new ArrayList<>(Math.min(max, received.size() + 1));
        out.add(first);
        Received next;
        while (out.size() < max && (next = received.poll()) != null) out.add(next);
        return out;
    }

    @Override
    public void ackAll(List<ResultDelivery> stored) {
        // deliveries are polled in tag order from one channel: one multiple-ack covers them all
        long max = 0;
        for (ResultDelivery d : stored) max = Math.max(max, ((Received) d).tag());
        if (max == 0) return;
        try {
            resultChannel.basicAck(max, true);
        } catch (IOException | ShutdownSignalException e) {
            // the broker is gone: it will deliver these again, and the ledger drops them then
            LOG.debugf("results not acknowledged (%s): they will come again", e.getMessage());
        }
    }

    @Override
    public void finish() {
        try (Channel ch = connection.createChannel()) {
            queues.declareFinished(ch);
            if (!keepQueues) {
                resultChannel.close();
                queues.delete(ch, retryQueues);
            }
        } catch (IOException | TimeoutException | ShutdownSignalException e) {
            LOG.warnf("could not mark the batch finished on the broker: %s", e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            connection.close(5_000);
        } catch (IOException | ShutdownSignalException e) {
            LOG.debugf("closing the connection: %s", e.getMessage());
        }
    }
}
