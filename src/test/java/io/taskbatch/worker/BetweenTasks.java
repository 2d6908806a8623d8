package io.taskbatch.worker;

import io.taskbatch.queue.WorkerTransport;
import java.time.Duration;

/** A transport that runs {@code check} on the slot thread before each take: between two tasks of that thread. */
final class BetweenTasks implements WorkerTransport {
    private final WorkerTransport inner;
    private final Runnable check;

    BetweenTasks(WorkerTransport inner, Runnable check) {
        this.inner = inner;
        this.check = check;
    }

    @Override
    public TaskInbox openInbox() {
        TaskInbox inbox = inner.openInbox();
        return new TaskInbox() {
            @Override
            public TaskDelivery take(Duration timeout) throws InterruptedException {
                check.run();
                return inbox.take(timeout);
            }

            @Override
            public void close() {
                inbox.close();
            }
        };
    }

    @Override
    public boolean finished() {
        return inner.finished();
    }
}
