package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.queue.WorkerTransport.TaskDelivery;
import io.taskbatch.queue.WorkerTransport.TaskInbox;
import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.RabbitNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A worker's transport against a real (private) RabbitMQ when the broker, not the worker, fails. */
class AmqpWorkerTransportIT {
    @RegisterExtension
    // queue statistics every 500 ms (default 5 s), so list_queues shows what the worker holds right now
    static final RabbitExtension RABBIT = new RabbitExtension(RabbitNode.builder().config("collect_statistics_interval", "500"));

    /**
     * The broker drops the worker's connection while a slot runs one task and holds another: both come back once, as
     * ordinary tasks, uncharged. A worker that lost its connection did not die: its tasks are no suspects (run alone,
     * delivery-limited on their own), and what the loss cost them does not count towards their delivery limit.
     */
    @Test
    void tasksHeldWhenTheBrokerDropsTheConnectionComeBackOnceAsOrdinaryTasks() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "lost", null);
        try (Connection master = broker.newConnection("test-master"); Channel ch = master.createChannel()) {
            queues.declare(ch, 3, List.of(Duration.ofSeconds(1)));
            for (long id = 1; id <= 2; id++) {
                TaskMessage task = new TaskMessage(id, 1, Long.toString(id), Map.of());
                ch.basicPublish("", queues.tasks(), MessageCodec.taskProperties(task), MessageCodec.encode(task));
            }
        }
        try (AmqpWorkerTransport worker = new AmqpWorkerTransport(broker, queues, "w", 2, Duration.ofMinutes(5))) {
            assertThat(worker.awaitReady(new BrokerWait(Duration.ofSeconds(10), line -> { }), "lost")).isTrue();
            TaskInbox inbox = worker.openInbox();
            TaskDelivery running = inbox.take(Duration.ofSeconds(10));
            assertThat(running).as("the first task").isNotNull();
            await(() -> RABBIT.node().rabbitmqctl("list_queues", "-q", "name", "messages_unacknowledged").lines()
                    .anyMatch(l -> l.matches(java.util.regex.Pattern.quote(queues.tasks()) + "\\s+2")), "the slot holds both tasks");

            RABBIT.node().rabbitmqctl("close_all_connections", "test: the broker drops the worker's connection");

            List<TaskDelivery> again = new ArrayList<>();
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (again.size() < 2 && System.nanoTime() < end) {
                TaskDelivery d = inbox.take(Duration.ofMillis(200));
                if (d != null) again.add(d);
            }
            assertThat(again).as("both tasks came back to the worker, as ordinary tasks (suspects are taken elsewhere)")
                    .extracting(d -> d.task().id()).containsExactlyInAnyOrder(1L, 2L);
            assertThat(again).as("uncharged: a copy, delivered for the first time").allMatch(d -> d.deliveryCount() == 1);
            try (Connection c = broker.newConnection("test-probe"); Channel probe = c.createChannel()) {
                assertThat(probe.queueDeclarePassive(queues.suspects()).getMessageCount()).as("no suspects").isZero();
            }
            assertThat(inbox.take(Duration.ofSeconds(2))).as("each task came back once").isNull();
        }
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(100);
        }
    }
}
