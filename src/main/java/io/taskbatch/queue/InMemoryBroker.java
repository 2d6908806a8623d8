package io.taskbatch.queue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The queues of one batch inside one process, with the contract the RabbitMQ transport has:
 * a task queue with a delivery limit and a dead-letter path, a result queue, a delayed retry path,
 * and a "batch finished" signal. Used by {@code taskbatch run} without a broker.
 */
public final class InMemoryBroker implements MasterTransport, WorkerTransport, AutoCloseable {

    private final InMemoryQueue<TaskMessage> tasks;
    private final InMemoryQueue<ResultMessage> results;
    private final ScheduledExecutorService retryTimer;
    private final IntFunction<Duration> retryDelay;
    private volatile boolean finished;

    /** As below, retries coming back at once. */
    public InMemoryBroker(int taskCapacity, int deliveryLimit) {
        this(taskCapacity, deliveryLimit, failedAttempt -> Duration.ZERO);
    }

    /**
     * @param taskCapacity  tasks queued or in flight before {@link #publish} blocks
     * @param deliveryLimit deliveries of one task message to workers that died before it is dead
     * @param retryDelay    how long a retry waits after failed attempt N (the batch's retry policy)
     */
    public InMemoryBroker(int taskCapacity, int deliveryLimit, IntFunction<Duration> retryDelay) {
        this.retryDelay = retryDelay;
        this.results = new InMemoryQueue<>(Integer.MAX_VALUE, Integer.MAX_VALUE, (r, n) -> { });
        this.tasks = new InMemoryQueue<>(taskCapacity, deliveryLimit,
                (task, deliveries) -> results.putNow(ResultMessage.dead(task, task.attempt() - 1 + deliveries,
                        "dead: delivery limit reached: the worker running it died each time (delivered " + deliveries
                                + " times)")));
        this.retryTimer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "taskbatch-retry-timer");
            t.setDaemon(true);
            return t;
        });
    }

    // ---- master side ----

    @Override
    public void publish(TaskMessage task) throws InterruptedException {
        tasks.put(task);
    }

    @Override
    public void awaitPublished() {
        // in memory, a put task is already safe
    }

    @Override
    public List<ResultDelivery> pollResults(int max, Duration timeout) throws InterruptedException {
        List<InMemoryQueue.Envelope<ResultMessage>> taken = results.take(max, timeout);
        List<ResultDelivery> out = new ArrayList<>(taken.size());
        for (InMemoryQueue.Envelope<ResultMessage> e : taken) {
            out.add(() -> e.body);
        }
        return out;
    }

    @Override
    public void ackAll(List<ResultDelivery> stored) {
        results.ack(stored.size());
    }

    @Override
    public void finish() {
        finished = true;
        tasks.close();
    }

    // ---- worker side ----

    @Override
    public boolean finished() {
        return finished;
    }

    @Override
    public TaskInbox openInbox() {
        return new Inbox();
    }

    /** Tasks delivered and not yet settled. */
    public int unackedTasks() {
        return tasks.unacked();
    }

    @Override
    public void close() {
        retryTimer.shutdownNow();
    }

    /** One consuming thread's inbox; it holds at most one unsettled delivery at a time. */
    private final class Inbox implements TaskInbox {
        private Delivery held;

        @Override
        public TaskDelivery take(Duration timeout) throws InterruptedException {
            if (held != null && !held.settled) {
                throw new IllegalStateException("settle task " + held.task().id() + " before taking the next one");
            }
            if (finished) return null;
            InMemoryQueue.Envelope<TaskMessage> e = tasks.takeOne(timeout);
            held = e == null ? null : new Delivery(e);
            return held;
        }

        @Override
        public void close() {
            // like a closed channel: what this consumer held unsettled goes back to the queue
            if (held != null && !held.settled) held.release();
            held = null;
        }
    }

    private final class Delivery implements TaskDelivery {
        private final InMemoryQueue.Envelope<TaskMessage> envelope;
        private boolean settled;

        Delivery(InMemoryQueue.Envelope<TaskMessage> envelope) {
            this.envelope = envelope;
        }

        @Override
        public TaskMessage task() {
            return envelope.body;
        }

        @Override
        public int deliveryCount() {
            return envelope.deliveries;
        }

        private void settle() {
            if (settled) throw new IllegalStateException("task " + task().id() + " was already settled");
            settled = true;
        }

        @Override
        public void complete(ResultMessage result) {
            settle();
            results.putNow(result);
            tasks.ack(1);
        }

        @Override
        public void retry(TaskMessage next) {
            settle();
            Duration delay = retryDelay.apply(next.attempt() - 1);
            if (delay.isZero() || delay.isNegative()) {
                tasks.putNow(next);
            } else {
                retryTimer.schedule(() -> tasks.putNow(next), delay.toNanos(), TimeUnit.NANOSECONDS);
            }
            tasks.ack(1);
        }

        @Override
        public void release() {
            settle();
            tasks.requeue(envelope);
        }
    }
}
