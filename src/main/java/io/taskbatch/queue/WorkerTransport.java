package io.taskbatch.queue;

import java.time.Duration;

/**
 * A worker's side of a batch's queues. Each consuming thread opens its own {@link TaskInbox}
 * (on RabbitMQ: its own channel).
 */
public interface WorkerTransport {

    TaskInbox openInbox();

    /**
     * The tasks kept apart because a worker died while holding them, taken one at a time by whoever runs them alone
     * ({@link #suspectsWaiting}); null when this transport keeps none apart (in one process, nothing dies alone).
     */
    default TaskInbox openSuspectInbox() {
        return null;
    }

    /** Whether tasks wait to be run alone (see {@link #openSuspectInbox}); may be a second old. */
    default boolean suspectsWaiting() {
        return false;
    }

    /** True once the master said the batch is over. */
    boolean finished();

    /** The tasks one consuming thread takes; closing it returns every unsettled task to the queue. */
    interface TaskInbox extends AutoCloseable {
        /** The next task, or null when none came within {@code timeout}. */
        TaskDelivery take(Duration timeout) throws InterruptedException;

        @Override
        void close();
    }

    /** One delivered task, settled exactly once by one of its methods. */
    interface TaskDelivery {
        TaskMessage task();

        /** How often this message has been delivered, this time included. */
        int deliveryCount();

        /** Publishes the task's final result, then acknowledges the task. */
        void complete(ResultMessage result);

        /**
         * Puts {@code next} on the retry path, which holds it for the backoff after this attempt (the transport's to
         * know: configured from the batch's retry policy), then acknowledges this task.
         */
        void retry(TaskMessage next);

        /** Gives the task back unrun (shutdown): another worker will take it. */
        void release();
    }
}
