package io.taskbatch.queue;

import java.time.Duration;
import java.util.List;

/**
 * The master's side of a batch's queues. Implementations: {@link InMemoryBroker} for local runs,
 * RabbitMQ for clusters. The master's core sees only this.
 */
public interface MasterTransport {

    /**
     * Publishes a task. Blocks while too many tasks are unconfirmed or queued (back-pressure), so a
     * source of any size streams in constant memory.
     */
    void publish(TaskMessage task) throws InterruptedException;

    /** Waits until every task published so far is safely in the queue. */
    void awaitPublished() throws InterruptedException;

    /**
     * Takes up to {@code max} results (including dead tasks turned into failed results), waiting up
     * to {@code timeout} for the first. A result is delivered again until acknowledged: store it first.
     */
    List<ResultDelivery> pollResults(int max, Duration timeout) throws InterruptedException;

    /**
     * Acknowledges results once they are stored, in the order they were polled (a transport may ack them in one go):
     * they will not be delivered again.
     */
    void ackAll(List<ResultDelivery> stored);

    /**
     * Whether a task of the batch waits in the transport now: ready for a worker, waiting out a retry's delay, or
     * waiting to run alone. With none waiting and no result for long, the tasks without a result are held by no one
     * who will ever answer (see {@code Master.Settings#stallLimit}). True when the transport cannot tell.
     */
    default boolean tasksWaiting() {
        return true;
    }

    /** Tells the workers that the batch is over: they stop taking tasks and exit. */
    void finish();

    /** A result taken from the result queue; {@link #ackAll} acknowledges it. */
    interface ResultDelivery {
        ResultMessage result();
    }
}
