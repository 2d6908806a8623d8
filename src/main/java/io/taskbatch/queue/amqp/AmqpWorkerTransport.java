package io.taskbatch.queue.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import io.taskbatch.metrics.MetricNames;
import io.taskbatch.metrics.WorkerMetrics;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.queue.WorkerTransport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * A worker's side of a batch on RabbitMQ: each slot consumes every shard's task queue on its own channel with manual acks,
 * publishes each result with a confirm, and acknowledges its task only once that confirm came (so a
 * worker killed at any moment loses nothing: the broker delivers its unacknowledged tasks again).
 * How many tasks a slot holds follows the workload ({@link PrefetchGovernor}).
 */
public final class AmqpWorkerTransport implements WorkerTransport, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AmqpWorkerTransport.class);
    private static final Duration WATCH_EVERY = Duration.ofMillis(500);

    /** Queues gone this long (no finished marker) mean the batch's queues were deleted: it is over. */
    private static final Duration GONE_MEANS_OVER = Duration.ofSeconds(30);

    private final BatchQueues queues;
    private final Connection connection;
    private final String workerName;
    private final int fixedPrefetch;
    private final long maxHoldNanos;
    // acks and re-publishes of nacked messages run here, not on the connection's thread that delivers confirms (it
    // must never block)
    private final ScheduledExecutorService acker;
    private final Thread watcher;
    private volatile boolean finished;
    // every queue of the batch is declared and up (the ready exchange exists)
    private volatile boolean ready;
    private volatile WorkerMetrics metrics = WorkerMetrics.none();
    private final List<SlotInbox> inboxes = new CopyOnWriteArrayList<>();
    // ids of the tasks this worker held when the broker closed or lost a channel under it: one of them delivered again
    // came back with that loss, not with a worker's death
    private final Set<Long> lostWithBroker = ConcurrentHashMap.newKeySet();

    /** What {@link #look()} saw on the broker. */
    enum Seen { NOT_YET, READY, FINISHED }

    /**
     * @param fixedPrefetch tasks a slot may hold; 0 adapts to the workload
     * @param maxHold       a task waiting this long in a slot's buffer goes back to the queue unrun, so
     *                      no delivery is held much longer than a task may run (the broker's consumer
     *                      timeout must exceed this plus the task timeout)
     */
    public AmqpWorkerTransport(BrokerAddress broker, BatchQueues queues, String workerName, int fixedPrefetch,
                               Duration maxHold) throws IOException, TimeoutException {
        this(connect(broker, workerName, BrokerWait.once()), queues, workerName, fixedPrefetch, maxHold);
    }

    /** Connects to {@code broker}, waiting for it as {@code wait} says. */
    public static AmqpWorkerTransport connect(BrokerAddress broker, BatchQueues queues, String workerName, int fixedPrefetch,
                                              Duration maxHold, BrokerWait wait) throws IOException, TimeoutException, InterruptedException {
        return new AmqpWorkerTransport(wait.connect(broker, "taskbatch-worker " + workerName), queues, workerName,
                fixedPrefetch, maxHold);
    }

    private static Connection connect(BrokerAddress broker, String workerName, BrokerWait once) throws IOException, TimeoutException {
        try {
            return once.connect(broker, "taskbatch-worker " + workerName);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while connecting to the broker", e);
        }
    }

    private AmqpWorkerTransport(Connection connection, BatchQueues queues, String workerName, int fixedPrefetch,
                                Duration maxHold) {
        this.queues = queues;
        this.workerName = workerName;
        this.fixedPrefetch = fixedPrefetch;
        this.maxHoldNanos = maxHold.toNanos();
        this.connection = connection;
        this.acker = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("taskbatch-acks").unstarted(r));
        this.watcher = Thread.ofPlatform().daemon().name("taskbatch-finish-watch").unstarted(this::watchForFinish);
    }

    /**
     * Waits, with {@code wait}'s back-off and limit, until the master has declared every queue of the
     * batch (then watches for its end) or the batch is over.
     *
     * @return true when the worker may start; false when the batch is already over
     * @throws BrokerWait.GaveUp when the wait's limit passed first
     */
    public boolean awaitReady(BrokerWait wait, String batchId) throws InterruptedException, BrokerWait.GaveUp {
        Seen[] seen = {Seen.NOT_YET};
        boolean done = wait.until(() -> (seen[0] = look()) != Seen.NOT_YET,
                "waiting for the master to declare the queues of " + batchId + " (" + queues.prefix() + ".*)",
                () -> seen[0] == Seen.FINISHED ? "batch " + batchId + " is over" : "the queues of " + batchId + " are ready");
        if (!done) {
            throw new BrokerWait.GaveUp("the queues of " + batchId + " were not declared within --broker-wait "
                    + BrokerWait.describe(wait.limit()) + ": is its master running?");
        }
        if (seen[0] == Seen.FINISHED) {
            finished = true;
            return false;
        }
        ready = true;
        if (watcher.getState() == Thread.State.NEW) watcher.start();
        return true;
    }

    /** Looks once: is the batch over, or all of its queues there? */
    Seen look() throws IOException, TimeoutException {
        if (exists(queues.finished(), false)) return Seen.FINISHED;
        return exists(queues.ready(), true) ? Seen.READY : Seen.NOT_YET;
    }

    private void watchForFinish() {
        long goneSince = 0;
        while (!finished) {
            try {
                Seen seen = look();
                if (seen == Seen.FINISHED) {
                    finished = true;
                } else if (seen == Seen.READY) {
                    ready = true;
                    goneSince = 0;
                } else {
                    // a master starting afresh deletes and declares the queues again: wait for them;
                    // gone for good (deleted with the batch) means over
                    ready = false;
                    if (goneSince == 0) goneSince = System.nanoTime();
                    if (System.nanoTime() - goneSince > GONE_MEANS_OVER.toNanos()) finished = true;
                }
            } catch (IOException | TimeoutException | ShutdownSignalException e) {
                LOG.debugf("cannot look at the batch's queues now (%s); the connection recovers by itself", e.getMessage());
            }
            // a consumer cancelled by the broker (the master deleting the queues at the batch's end) wakes this early
            LockSupport.parkNanos(WATCH_EVERY.toNanos());
            if (Thread.interrupted()) return;
        }
        LOG.debug("the batch is over");
    }

    /**
     * Whether {@code name} (a queue, or an exchange) exists, asked on a throwaway channel (a 404 closes
     * the channel).
     */
    private boolean exists(String name, boolean exchange) throws IOException, TimeoutException {
        Channel probe = connection.createChannel();
        if (probe == null) throw new IOException("no channel available");
        try {
            if (exchange) {
                probe.exchangeDeclarePassive(name);
            } else {
                probe.queueDeclarePassive(name);
            }
            return true;
        } catch (IOException e) {
            if (isNotFound(e)) return false;
            throw e;
        } finally {
            if (probe.isOpen()) probe.close();
        }
    }

    private static boolean isNotFound(Throwable e) {
        return e.getCause() instanceof ShutdownSignalException s && !s.isHardError()
                && s.getReason() instanceof AMQP.Channel.Close close && close.getReplyCode() == AMQP.NOT_FOUND;
    }

    @Override
    public boolean finished() {
        return finished;
    }

    /** Whether the batch's queues are up and the batch not over: what a ready worker is. */
    public boolean consuming() {
        return ready && !finished && connection.isOpen();
    }

    @Override
    public TaskInbox openSuspectInbox() {
        return new SlotInbox(true);
    }

    private volatile long suspectsLookedAt;
    private volatile boolean suspectsSeen;

    @Override
    public boolean suspectsWaiting() {
        if (!ready || finished) return false;
        long now = System.nanoTime();
        if (now - suspectsLookedAt > TimeUnit.SECONDS.toNanos(1)) {
            suspectsLookedAt = now;
            try {
                Channel probe = connection.createChannel();
                if (probe == null) return false;
                try {
                    suspectsSeen = probe.queueDeclarePassive(queues.suspects()).getMessageCount() > 0;
                } finally {
                    if (probe.isOpen()) probe.close();
                }
            } catch (IOException | TimeoutException | ShutdownSignalException e) {
                suspectsSeen = false; // not there (yet, or any more): nothing to run alone
            }
        }
        return suspectsSeen;
    }

    @Override
    public TaskInbox openInbox() {
        SlotInbox inbox = new SlotInbox(false);
        inboxes.add(inbox);
        return inbox;
    }

    /** Counts results, confirms and malformed messages in {@code metrics}, and shows buffers and prefetch there. */
    public void measure(WorkerMetrics metrics) {
        this.metrics = metrics;
        metrics.gauge(MetricNames.WORKER_TASKS_BUFFERED, "Tasks delivered to this worker, waiting in a slot's buffer",
                () -> inboxes.stream().mapToInt(inbox -> inbox.buffer.size()).sum());
        metrics.gauge(MetricNames.WORKER_PREFETCH, "Prefetch of this worker's consumers, summed over its slots",
                () -> inboxes.stream().filter(inbox -> inbox.subscribed).mapToInt(inbox -> inbox.prefetch).sum());
    }

    @Override
    public void close() {
        finished = true;
        watcher.interrupt();
        acker.shutdown();
        try {
            acker.awaitTermination(5, TimeUnit.SECONDS);
            connection.close(5_000);
        } catch (IOException | ShutdownSignalException | InterruptedException e) {
            LOG.debugf("closing the connection: %s", e.getMessage());
        }
    }

    /** A message as the consumer got it, decoded or with the reason it could not be. */
    private record Incoming(Channel channel, long tag, TaskMessage task, byte[] body, String malformed, int deliveryCount,
                            long receivedNanos) {
    }

    /**
     * Published, awaiting its confirm before its tasks ({@code tags}, ascending: one, or those of the {@code results}
     * it carries) may be acknowledged; what was published is kept, to publish it again if the broker nacks it
     * ({@code nacks} times so far). {@code sinceNanos}: when its oldest result was ready. {@code aside}: published for
     * a task as it arrived, ahead of older tasks still waiting to run, so its confirm acknowledges that task alone.
     */
    private record Pending(long[] tags, long sinceNanos, int results, String queue, AMQP.BasicProperties props,
                           byte[] body, int nacks, boolean aside) {
        Pending nackedOnce(long now) {
            return new Pending(tags, now, results, queue, props, body, nacks + 1, aside);
        }

        long lowestTag() {
            return tags[0];
        }
    }

    /** Results a slot gathers into one message at most: this many ... */
    static final int RESULTS_PER_MESSAGE = 64;
    /** ... or about this many bytes ... */
    static final int RESULT_BYTES_PER_MESSAGE = 64 * 1024;
    /** ... or for this long after the first was ready (the slot also sends what it has when it runs out of tasks). */
    static final Duration RESULTS_WAIT_AT_MOST = Duration.ofMillis(5);

    /** How long a nacked message waits before it is published again: 50 ms, doubling up to 2 s. */
    static Duration republishDelay(int nacks) {
        return Duration.ofMillis(Math.min(2_000, 50L << Math.min(Math.max(nacks - 1, 0), 6)));
    }

    /**
     * One slot's channel, consumer, local buffer and confirms. It subscribes once the batch's queues
     * are ready, and again if the broker cancelled its consumer (the task queue was deleted and
     * declared again) or a failed subscription closed its channel: a slot never dies of "not there yet".
     */
    private final class SlotInbox implements TaskInbox {
        private static final Duration RESUBSCRIBE_EVERY = Duration.ofMillis(500);
        private volatile Channel channel;
        private volatile boolean subscribed;
        private final LinkedBlockingQueue<Incoming> buffer = new LinkedBlockingQueue<>();
        // ids of the tasks taken from this inbox and not settled yet
        private final Set<Long> running = ConcurrentHashMap.newKeySet();
        // seqNo -> pending ack: added by the slot thread, settled by the confirm listener
        private final ConcurrentSkipListMap<Long, Pending> pending = new ConcurrentSkipListMap<>();
        // messages the broker nacked, waiting to be published again or published again and not confirmed yet: their
        // tasks are older than their sequence numbers say, so no multiple-ack may cover them
        private final AtomicInteger republishing = new AtomicInteger();
        // the sequence number and the send must not interleave with a shutdown clearing pending
        private final ReentrantLock publishLock = new ReentrantLock();
        private final PrefetchGovernor governor;
        // one per shard; read by the connection's thread in handleCancel
        private final List<String> consumerTags = new CopyOnWriteArrayList<>();
        private volatile int prefetch;
        // pulls from the suspects, one at a time, instead of consuming the task queue
        private final boolean suspects;
        // results ready and not yet published, with their tasks: they go out together as one message (flushResults),
        // before anything else this slot publishes, so that the slot's messages still carry its tasks in delivery order.
        // Guarded by publishLock
        private final List<Incoming> resultTasks = new ArrayList<>();
        private final ByteArrayOutputStream resultLines = new ByteArrayOutputStream();
        private long resultsSinceNanos;
        private long resultMessages;
        // slots start their round of the result queues at different shards
        private final long slotOffset = ThreadLocalRandom.current().nextInt(queues.shards());

        SlotInbox(boolean suspects) {
            this.suspects = suspects;
            governor = new PrefetchGovernor(fixedPrefetch, 1);
            if (!suspects) subscribe();
        }

        /**
         * A new channel for this slot. The old one is aborted first: a channel that went down with its connection is
         * recovered by the client later, consumers and all, and a recovered channel the slot no longer uses would
         * hold its deliveries unacknowledged for good (publish() ignores tasks of a channel that is not the slot's).
         */
        private void replaceChannel() throws IOException {
            Channel old = channel;
            if (old != null) {
                try {
                    old.abort(); // also drops it and its consumers from the connection's recovery
                } catch (IOException | ShutdownSignalException e) {
                    LOG.debugf("abort: %s", e.getMessage());
                }
                consumerTags.clear();
            }
            channel = openChannel();
        }

        private Channel openChannel() throws IOException {
            Channel ch = connection.createChannel();
            if (ch == null) throw new IOException("no channel available");
            ch.confirmSelect();
            ch.addConfirmListener(new ConfirmListener() {
                @Override
                public void handleAck(long seq, boolean multiple) {
                    confirmed(ch, seq, multiple, true);
                }

                @Override
                public void handleNack(long seq, boolean multiple) {
                    confirmed(ch, seq, multiple, false);
                }
            });
            ch.addShutdownListener(cause -> {
                // the broker returns every unacknowledged task of this channel to the queue: drop our copies
                publishLock.lock();
                try {
                    if (!cause.isInitiatedByApplication()) {
                        for (Incoming in : buffer) if (in.task() != null) lostWithBroker.add(in.task().id());
                        for (Incoming in : resultTasks) lostWithBroker.add(in.task().id());
                        lostWithBroker.addAll(running);
                    }
                    resultTasks.clear();
                    resultLines.reset();
                    pending.clear();
                    republishing.set(0);
                    buffer.clear();
                    subscribed = false;
                } finally {
                    publishLock.unlock();
                }
            });
            return ch;
        }

        /** Consumes the task queues if they are ready; false (quietly) when they are not, to try again later. */
        private boolean subscribe() {
            if (!ready || finished) return false;
            try {
                if (channel == null || !channel.isOpen()) replaceChannel();
                cancelAll(); // what is left of an earlier subscription (one shard cancelled, a recovered channel)
                consume(governor.current());
                return true;
            } catch (IOException | ShutdownSignalException e) {
                LOG.debugf("cannot consume the task queue yet (%s); trying again", BrokerAddress.describe(e));
                return false;
            }
        }

        /**
         * One more consumer per shard on this slot's one channel, holding up to {@code prefetch} tasks in all: its delivery
         * tags stay one sequence, so the ack logic in {@link #confirmed} holds across shards and consumers.
         */
        private void consume(int prefetch) throws IOException {
            Channel ch = channel;
            int each = PrefetchGovernor.perShard(prefetch, queues.shards());
            ch.basicQos(each); // for the consumers this channel starts from now on
            this.prefetch += each * queues.shards();
            DefaultConsumer consumer = new DefaultConsumer(ch) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                    Object count = props.getHeaders() == null ? null : props.getHeaders().get("x-delivery-count");
                    int deliveries = count instanceof Number n ? n.intValue() + 1 : 1;
                    try {
                        Incoming in = new Incoming(ch, envelope.getDeliveryTag(), MessageCodec.decodeTask(body), null, null,
                                deliveries, System.nanoTime());
                        if (deliveries >= 2) {
                            redelivered(in);
                        } else {
                            buffer.add(in);
                        }
                    } catch (MessageCodec.MalformedMessageException e) {
                        buffer.add(new Incoming(ch, envelope.getDeliveryTag(), null, body, e.getMessage(), deliveries,
                                System.nanoTime()));
                    }
                }

                @Override
                public void handleCancel(String tag) {
                    // a task queue was deleted under us: the batch is over (its master ends it so), or it starts afresh
                    // and the slot subscribes again once it is back
                    if (consumerTags.contains(tag)) subscribed = false;
                    LockSupport.unpark(watcher);
                }
            };
            for (int shard = 0; shard < queues.shards(); shard++) {
                consumerTags.add(ch.basicConsume(queues.tasks(shard), false, consumer));
            }
            subscribed = true;
        }

        /** Cancels this slot's consumers on its channel; deliveries already here stay ours to acknowledge. */
        private void cancelAll() {
            prefetch = 0;
            for (String tag : consumerTags) {
                try {
                    if (channel.isOpen()) channel.basicCancel(tag);
                } catch (IOException | ShutdownSignalException e) {
                    LOG.debugf("cancel %s: %s", tag, e.getMessage());
                }
            }
            consumerTags.clear();
        }

        /**
         * The broker confirmed ({@code ack}) or refused what this channel published up to {@code seq}. Confirmed: its
         * tasks are acknowledged. Refused (a queue's leader lost or changing, a queue full): the message goes out again
         * after a pause and its task stays ours; rejecting the task instead would charge it a delivery each time, and a
         * task that ran well would end dead at its delivery limit while the broker elects a leader.
         */
        private void confirmed(Channel channel, long seq, boolean multiple, boolean ack) {
            var settled = multiple ? pending.headMap(seq, true) : pending.subMap(seq, true, seq, true);
            List<Long> tags = new ArrayList<>();
            int results = 0;
            long maxTag = -1;
            boolean aside = false;
            long now = System.nanoTime();
            for (var it = settled.values().iterator(); it.hasNext(); ) {
                Pending p = it.next();
                it.remove();
                results += p.results();
                if (!ack) {
                    if (p.nacks() == 0) republishing.incrementAndGet();
                    Pending again = p.nackedOnce(now);
                    try {
                        acker.schedule(() -> republish(channel, again), republishDelay(again.nacks()).toMillis(), TimeUnit.MILLISECONDS);
                    } catch (RejectedExecutionException e) {
                        LOG.debug("closing: the task goes back to the queue with the channel");
                    }
                    continue;
                }
                if (p.nacks() > 0) republishing.decrementAndGet();
                aside |= p.aside();
                for (long tag : p.tags()) tags.add(tag);
                maxTag = Math.max(maxTag, p.tags()[p.tags().length - 1]);
                governor.confirmTook(now - p.sinceNanos());
            }
            if (results > 0) metrics.resultsConfirmed(results, ack);
            if (tags.isEmpty()) return;
            // tasks are settled in delivery order (but those moved on as they came): if nothing older is still pending,
            // one ack covers them
            var oldest = pending.firstEntry();
            boolean contiguous = !aside && republishing.get() == 0 && (oldest == null || oldest.getValue().lowestTag() > maxTag);
            long upTo = maxTag;
            try {
                acker.execute(() -> {
                    try {
                        if (contiguous) {
                            channel.basicAck(upTo, true);
                        } else {
                            for (long tag : tags) channel.basicAck(tag, false);
                        }
                    } catch (IOException | ShutdownSignalException e) {
                        LOG.debugf("ack lost with the channel (%s): the broker delivers the task again", e.getMessage());
                    }
                });
            } catch (RejectedExecutionException e) {
                LOG.debug("closing: the tasks go back to the queue with the channel");
            }
        }

        /** Publishes a nacked message again, on the channel its task came on (gone: the task went back with it). */
        private void republish(Channel ch, Pending p) {
            publishLock.lock();
            try {
                if (ch != channel || !ch.isOpen()) return;
                LOG.debugf("the broker refused a message to %s (%d times); publishing it again", p.queue(), p.nacks());
                long seq = ch.getNextPublishSeqNo();
                pending.put(seq, p);
                try {
                    ch.basicPublish("", p.queue(), p.props(), p.body());
                    metrics.resultsPublished(p.results());
                } catch (IOException | ShutdownSignalException e) {
                    pending.remove(seq);
                    LOG.debugf("publish lost with the channel (%s): the broker delivers the task again", e.getMessage());
                }
            } finally {
                publishLock.unlock();
            }
        }

        @Override
        public TaskDelivery take(Duration timeout) throws InterruptedException {
            if (suspects) return takeSuspect();
            if (!subscribed && buffer.isEmpty() && !subscribe()) {
                Thread.sleep(Math.min(timeout.toMillis(), RESUBSCRIBE_EVERY.toMillis()));
                return null;
            }
            int resize = governor.proposal();
            if (resize > 0) resubscribe(resize);
            long end = System.nanoTime() + timeout.toNanos();
            while (true) {
                if (buffer.isEmpty()) flushResults(); // nothing to run now: what is ready goes out
                Incoming in = buffer.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (in == null) return null;
                if (in.task() == null) {
                    deadLetterMalformed(in);
                } else if (System.nanoTime() - in.receivedNanos() > maxHoldNanos) {
                    LOG.debugf("task %d waited too long behind others here; it goes back to the queue", in.task().id());
                    release(in);
                } else {
                    running.add(in.task().id());
                    return new AmqpDelivery(this, in, System.nanoTime());
                }
            }
        }

        /**
         * A task delivered before, moved on as it arrives (on the consumer's thread), not when the slot reaches it: held
         * in the buffer until then, it was charged again by every death of this worker meanwhile, and a suspect that kills
         * it runs while the other slots' buffers are full (an innocent task at the queue's head went dead at
         * {@code maxAttempts: 3} in CI, charged by the four deaths of one poison task).
         */
        private void redelivered(Incoming in) {
            String queue;
            if (lostWithBroker.remove(in.task().id())) {
                // it came back because the broker lost or closed our channel, not because a worker died: no suspect.
                // A copy goes back uncharged (see release), so what the loss cost it does not count towards its limit
                LOG.debugf("task %d came back after our connection to the broker was lost: it goes back to the queue",
                        in.task().id());
                queue = queues.tasks();
            } else {
                // delivered before to a worker that died holding it: whether this task or another it held killed that
                // worker cannot be told here, so it runs alone, from the suspects (uncharged there)
                LOG.debugf("task %d was held by a worker that died: it goes to the suspects, to run alone", in.task().id());
                queue = queues.suspects();
            }
            publish(queue, MessageCodec.taskProperties(in.task()), MessageCodec.encode(in.task()), in, true);
        }

        /**
         * One suspect, or null when there is none: pulled (never prefetched) only once the previous one is settled,
         * so that this channel holds at most the suspect that runs, and a death charges that one alone.
         */
        private TaskDelivery takeSuspect() throws InterruptedException {
            awaitSettled();
            try {
                if (channel == null || !channel.isOpen()) replaceChannel();
                Channel ch = channel;
                GetResponse got = ch.basicGet(queues.suspects(), false);
                if (got == null) return null;
                Object count = got.getProps().getHeaders() == null ? null : got.getProps().getHeaders().get("x-delivery-count");
                int deliveries = count instanceof Number n ? n.intValue() + 1 : 1;
                long tag = got.getEnvelope().getDeliveryTag();
                Incoming in;
                try {
                    in = new Incoming(ch, tag, MessageCodec.decodeTask(got.getBody()), null, null, deliveries, System.nanoTime());
                } catch (MessageCodec.MalformedMessageException e) {
                    deadLetterMalformed(new Incoming(ch, tag, null, got.getBody(), e.getMessage(), deliveries, System.nanoTime()));
                    return null;
                }
                return new AmqpDelivery(this, in, System.nanoTime());
            } catch (IOException | ShutdownSignalException e) {
                LOG.debugf("cannot take a suspect now (%s)", BrokerAddress.describe(e));
                return null;
            }
        }

        private boolean unsettled() {
            publishLock.lock();
            try {
                return !pending.isEmpty() || republishing.get() > 0 || !resultTasks.isEmpty();
            } finally {
                publishLock.unlock();
            }
        }

        /** Waits (up to 5 s) until what this slot published is confirmed and its tasks acknowledged. */
        private void awaitSettled() throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (unsettled() && channel != null && channel.isOpen() && System.nanoTime() - end < 0) Thread.sleep(1);
            try {
                acker.submit(() -> { }).get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | TimeoutException | RejectedExecutionException e) {
                LOG.debugf("acks pending: %s", e.getMessage());
            }
        }

        /**
         * A running quorum-queue consumer ignores a new basic.qos. To hold more, the slot adds consumers for the
         * difference; to hold fewer, it cancels its consumers and consumes again under the new limit (deliveries already
         * here stay ours to acknowledge). Only the second returns what was in flight to the cancelled consumers, each
         * charged a delivery (RabbitMQ 3.10), so the governor shrinks only when a slot hoards (see
         * {@link PrefetchGovernor#proposal}).
         */
        private void resubscribe(int prefetch) {
            if (!subscribed) return;
            try {
                if (prefetch > this.prefetch) {
                    consume(prefetch - this.prefetch);
                } else {
                    cancelAll();
                    consume(prefetch);
                }
                LOG.debugf("prefetch now %d", prefetch);
            } catch (IOException | ShutdownSignalException e) {
                subscribed = false; // take() subscribes again
                LOG.debugf("prefetch change failed (%s); subscribing again", e.getMessage());
            }
        }

        private void deadLetterMalformed(Incoming in) {
            LOG.warnf("dead-lettering a malformed task message: %s", in.malformed());
            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().deliveryMode(2)
                    .headers(Map.of(BatchQueues.REASON_HEADER, "malformed task message: " + in.malformed(),
                            "x-taskbatch-worker", workerName))
                    .build();
            publish(queues.dead(), props, in.body(), in, false);
            metrics.attempt(WorkerMetrics.Outcome.MALFORMED, 0);
        }

        /**
         * Publishes (after the results gathered so far), and has {@code in}'s task acknowledged once the broker confirms
         * it; {@code aside}: {@code in} arrived after tasks that still wait to run here (see {@link Pending}).
         */
        void publish(String queue, AMQP.BasicProperties props, byte[] body, Incoming in, boolean aside) {
            publishLock.lock();
            try {
                if (!onCurrentChannel(in)) return;
                flushResults();
                send(queue, props, body, new long[] {in.tag()}, System.nanoTime(), 0, aside);
            } finally {
                publishLock.unlock();
            }
        }

        /**
         * Adds a result to the message this slot is gathering, sent when it is full, when the first of its results
         * has waited {@link #RESULTS_WAIT_AT_MOST}, when the slot has no task left to run, or before anything else the
         * slot publishes; a suspect's goes out at once. Each result crossing the broker alone was half of the broker's
         * work per task.
         */
        void addResult(Incoming in, byte[] result) {
            publishLock.lock();
            try {
                if (!onCurrentChannel(in)) return;
                if (resultTasks.isEmpty()) {
                    resultsSinceNanos = System.nanoTime();
                    long message = resultMessages;
                    try {
                        acker.schedule(() -> flushResults(message), RESULTS_WAIT_AT_MOST.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (RejectedExecutionException e) {
                        LOG.debug("closing: the slot sends its results as it closes");
                    }
                } else {
                    resultLines.write('\n');
                }
                resultLines.writeBytes(result);
                resultTasks.add(in);
                if (suspects || resultTasks.size() >= RESULTS_PER_MESSAGE || resultLines.size() >= RESULT_BYTES_PER_MESSAGE) {
                    flushResults();
                }
            } finally {
                publishLock.unlock();
            }
        }

        private boolean onCurrentChannel(Incoming in) {
            if (in.channel() == channel && in.channel().isOpen()) return true;
            LOG.debugf("task %s came on a channel that is gone: the broker delivers it again", in.task() == null ? "?" : in.task().id());
            return false;
        }

        /** Sends the results gathered, if those are still the {@code message}-th message's (the timer's flush). */
        private void flushResults(long message) {
            publishLock.lock();
            try {
                if (resultMessages == message) flushResults();
            } finally {
                publishLock.unlock();
            }
        }

        /** Sends the results gathered, as one message to one of the result queues (the next, slot by slot). */
        private void flushResults() {
            publishLock.lock();
            try {
                int n = resultTasks.size();
                if (n == 0) return;
                long[] tags = new long[n];
                for (int i = 0; i < n; i++) tags[i] = resultTasks.get(i).tag();
                String queue = queues.results((int) Math.floorMod(resultMessages + slotOffset, (long) queues.shards()));
                send(queue, MessageCodec.RESULTS_PROPERTIES, resultLines.toByteArray(), tags, resultsSinceNanos, n, false);
                resultTasks.clear();
                resultLines.reset();
                resultMessages++;
            } finally {
                publishLock.unlock();
            }
        }

        /** Publishes on the slot's channel, the caller holding publishLock. */
        private void send(String queue, AMQP.BasicProperties props, byte[] body, long[] tags, long sinceNanos, int results,
                          boolean aside) {
            Channel channel = this.channel;
            long seq = channel.getNextPublishSeqNo();
            pending.put(seq, new Pending(tags, sinceNanos, results, queue, props, body, 0, aside));
            try {
                channel.basicPublish("", queue, props, body);
                if (results > 0) metrics.resultsPublished(results);
            } catch (IOException | ShutdownSignalException e) {
                pending.remove(seq);
                LOG.debugf("publish lost with the channel (%s): the broker delivers the task again", e.getMessage());
            }
        }

        /**
         * Gives a task back unrun (the worker stops, or it waited too long in the buffer): a copy goes to the task
         * queue and the original is acknowledged once the broker confirmed the copy. A reject would charge it a
         * delivery (a quorum queue counts every return towards its delivery limit), so a task handed back by a few
         * workers that were scaled down would be reported dead although no worker died.
         */
        void release(Incoming in) {
            if (in.channel() != channel) return; // its channel is gone, and the task went back with it
            // a suspect stays one: back to the suspects, to run alone later
            publish(suspects ? queues.suspects() : queues.tasks(), MessageCodec.taskProperties(in.task()),
                    MessageCodec.encode(in.task()), in, false);
        }

        @Override
        public void close() {
            Channel channel = this.channel;
            if (channel == null) return;
            if (subscribed) cancelAll();
            if (channel.isOpen()) flushResults();
            if (!finished && channel.isOpen()) {
                // what this slot still holds unrun goes back uncharged (see release), not with the channel's close
                for (Incoming in; (in = buffer.poll()) != null; ) {
                    if (in.task() != null) release(in);
                }
            }
            // give the last confirms a moment, so their tasks are acknowledged rather than run again
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (unsettled() && channel.isOpen() && System.nanoTime() - end < 0) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            try {
                // flush the acker's queue before the channel goes
                acker.submit(() -> { }).get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.debugf("acks pending at close: %s", e.getMessage());
            }
            try {
                if (channel.isOpen()) channel.close(); // what is still unacknowledged returns to the queue
            } catch (IOException | TimeoutException | ShutdownSignalException e) {
                LOG.debugf("close: %s", e.getMessage());
            }
        }
    }

    private final class AmqpDelivery implements TaskDelivery {
        private final SlotInbox inbox;
        private final Incoming in;
        private final long startNanos;
        private boolean settled;

        AmqpDelivery(SlotInbox inbox, Incoming in, long startNanos) {
            this.inbox = inbox;
            this.in = in;
            this.startNanos = startNanos;
        }

        @Override
        public TaskMessage task() {
            return in.task();
        }

        @Override
        public int deliveryCount() {
            return in.deliveryCount();
        }

        private void settle() {
            if (settled) throw new IllegalStateException("task " + in.task().id() + " was already settled");
            settled = true;
            inbox.running.remove(in.task().id());
            inbox.governor.taskRan(System.nanoTime() - startNanos);
        }

        @Override
        public void complete(ResultMessage result) {
            settle();
            inbox.addResult(in, MessageCodec.encode(result));
        }

        @Override
        public void retry(TaskMessage next) {
            settle();
            // the retry queue of this attempt holds it for its backoff, then returns it to the task queue
            inbox.publish(queues.retry(in.task().attempt()), MessageCodec.taskProperties(next), MessageCodec.encode(next), in,
                    false);
        }

        @Override
        public void release() {
            settle();
            inbox.release(in);
        }
    }
}
