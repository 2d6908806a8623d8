package io.taskbatch.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.queue.WorkerTransport.TaskDelivery;
import io.taskbatch.queue.WorkerTransport.TaskInbox;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class InMemoryBrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(2);

    @Test
    void aTaskHeldByAConsumerThatDiesIsDeliveredAgainWithItsCount() throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker(10, 3)) {
            broker.publish(TaskMessage.first(0, "a"));
            TaskInbox dying = broker.openInbox();
            TaskDelivery first = dying.take(WAIT);
            assertThat(first.deliveryCount()).isEqualTo(1);
            dying.close(); // the slot died without settling

            TaskInbox next = broker.openInbox();
            TaskDelivery again = next.take(WAIT);
            assertThat(again.task().id()).isZero();
            assertThat(again.deliveryCount()).isEqualTo(2);
            again.complete(ResultMessage.succeeded(again.task(), "A", 1, "w"));
            assertThat(broker.pollResults(10, WAIT)).extracting(d -> d.result().output()).containsExactly("A");
            assertThat(broker.unackedTasks()).isZero();
        }
    }

    @Test
    void aTaskPastTheDeliveryLimitIsDeadAndReportedAsFailedWithTheReason() throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker(10, 2)) {
            broker.publish(TaskMessage.first(7, "poison"));
            for (int i = 0; i < 2; i++) {
                TaskInbox inbox = broker.openInbox();
                assertThat(inbox.take(WAIT)).isNotNull();
                inbox.close();
            }
            var results = broker.pollResults(10, WAIT);
            assertThat(results).hasSize(1);
            ResultMessage dead = results.get(0).result();
            assertThat(dead.id()).isEqualTo(7);
            assertThat(dead.dead()).isTrue();
            assertThat(dead.status()).isEqualTo(ResultMessage.Status.FAILED);
            assertThat(dead.error()).contains("delivery limit").contains("delivered 2 times");
            assertThat(broker.openInbox().take(Duration.ofMillis(50))).isNull();
        }
    }

    @Test
    void retriesComeBackAfterTheirDelay() throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker(10, 3, failedAttempt -> Duration.ofMillis(300 * failedAttempt))) {
            broker.publish(TaskMessage.first(1, "x"));
            TaskInbox inbox = broker.openInbox();
            TaskDelivery d = inbox.take(WAIT);
            long start = System.nanoTime();
            d.retry(d.task().nextAttempt());
            assertThat(inbox.take(Duration.ofMillis(100))).isNull();
            TaskDelivery retried = inbox.take(WAIT);
            assertThat(retried.task().attempt()).isEqualTo(2);
            assertThat(retried.deliveryCount()).isEqualTo(1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(290));
        }
    }

    @Test
    void publishingBlocksAtCapacityUntilTasksAreSettled() throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker(2, 3)) {
            broker.publish(TaskMessage.first(0, "a"));
            broker.publish(TaskMessage.first(1, "b"));
            Thread publisher = Thread.ofPlatform().start(() -> {
                try {
                    broker.publish(TaskMessage.first(2, "c"));
                } catch (InterruptedException ignored) {
                }
            });
            publisher.join(200);
            assertThat(publisher.isAlive()).as("third publish must wait for room").isTrue();
            TaskInbox inbox = broker.openInbox();
            TaskDelivery d = inbox.take(WAIT);
            d.complete(ResultMessage.succeeded(d.task(), "", 0, "w"));
            publisher.join(2000);
            assertThat(publisher.isAlive()).isFalse();
        }
    }

    /** Fails without the queue's lock: deliveries get lost or handed out twice. */
    @Test
    void concurrentPublishersAndConsumersDeliverEveryTaskExactlyOnce() throws Exception {
        int producers = 2;
        int consumers = 3;
        int perProducer = 50_000;
        try (InMemoryBroker broker = new InMemoryBroker(1000, 3)) {
            Set<Long> seen = ConcurrentHashMap.newKeySet();
            AtomicInteger duplicates = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int base = p * perProducer;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < perProducer; i++) {
                        try {
                            broker.publish(TaskMessage.first(base + i, "t"));
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
            for (int c = 0; c < consumers; c++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    try (TaskInbox inbox = broker.openInbox()) {
                        TaskDelivery d;
                        while ((d = inbox.take(Duration.ofMillis(500))) != null) {
                            if (!seen.add(d.task().id())) duplicates.incrementAndGet();
                            d.complete(ResultMessage.succeeded(d.task(), "", 0, "w"));
                        }
                    } catch (InterruptedException ignored) {
                    }
                }));
            }
            for (Thread t : threads) t.join();
            assertThat(duplicates.get()).isZero();
            assertThat(seen).hasSize(producers * perProducer);
            Set<Long> results = new HashSet<>();
            List<MasterTransport.ResultDelivery> batch;
            while (!(batch = broker.pollResults(10_000, Duration.ofMillis(100))).isEmpty()) {
                batch.forEach(r -> results.add(r.result().id()));
                broker.ackAll(batch);
            }
            assertThat(results).hasSize(producers * perProducer);
            assertThat(broker.unackedTasks()).isZero();
        }
    }
}
